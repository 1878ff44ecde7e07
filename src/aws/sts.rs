//! STS: which account the credentials in use belong to. One call, made by
//! every changing command before its plan, so that a person sees the
//! account, and a mismatch with the environment's `account_id` stops it.

use anyhow::Result;

use super::explain;

/// The account and the identity (ARN) the credentials act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

pub async fn caller(sts: &aws_sdk_sts::Client) -> Result<Caller> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| explain("finding the AWS account of the credentials (STS)", e))?;
    Ok(Caller {
        account: out.account().unwrap_or_default().to_string(),
        arn: out.arn().unwrap_or_default().to_string(),
    })
}
