//! SDK errors turned into one clear message: what failed, why, and (as the
//! hint) what to do, with the documented exit code.

use super::calls;
use std::error::Error as StdError;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The HTTP status and error code of a failed call, when AWS answered at all.
pub fn status_and_code<E, R>(err: &SdkError<E, R>) -> (Option<u16>, Option<String>)
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    match err {
        SdkError::ServiceError(e) => (
            Some(e.raw().status_code()),
            e.err().code().map(str::to_string),
        ),
        _ => (None, None),
    }
}

/// Lets error mapping read the status of any SDK response type.
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// What to do when the KeyValueStore data plane refuses the signature.
const KVS_SESSION_TOKEN_HINT: &str = "the KeyValueStore API is signed with SigV4A, which accepts \
    temporary credentials only from a Regional STS endpoint (version 2 session tokens); \
    credentials from the global endpoint sts.amazonaws.com are refused. Get them from a \
    Regional endpoint (AWS_STS_REGIONAL_ENDPOINTS=regional for tools that still default to the \
    global one), or make the global endpoint issue version 2 tokens: `aws iam \
    set-security-token-service-preferences --global-endpoint-token-version v2Token`";

/// `explain` for the KeyValueStore data plane. It is signed with SigV4A,
/// which refuses session tokens from STS's global endpoint (CloudFront
/// Developer Guide, "Restrictions on CloudFront Functions"); AWS then
/// answers 403 AccessDeniedException "Authentication failed" (as reported in
/// anomalyco/sst#5741 and boto/boto3#3980), which `explain` alone would
/// read as a missing permission.
pub fn explain_kvs<E, R>(doing: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug + Send + Sync + 'static,
{
    // Only this answer: a wrong key or a skewed clock (InvalidSignature,
    // UnrecognizedClient...) keeps `explain`'s own hint.
    let signature_refused = err.as_service_error().is_some_and(|e| {
        e.code() == Some("AccessDeniedException")
            && e.message()
                .is_some_and(|m| m.to_ascii_lowercase().contains("authentication failed"))
    });
    let explained = explain(doing, err);
    if !signature_refused {
        return explained;
    }
    match explained.downcast::<crate::output::Failure>() {
        Ok(failure) => failure.hint(KVS_SESSION_TOKEN_HINT).into(),
        Err(other) => other,
    }
}

/// Turns an SDK error into one clear message: what failed, why, and (as the
/// hint) what to do. The error is a `Failure` of kind `Aws` (exit 1).
// Taken by value: the SDK error ends here, turned into the message (every
// caller hands it over from a `map_err`).
#[allow(clippy::needless_pass_by_value)]
pub fn explain<E, R>(doing: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug + Send + Sync + 'static,
{
    use crate::output::{Failure, Kind};
    let chain = chain_text(&err);
    if let SdkError::ServiceError(service) = &err {
        let status = format!("HTTP {}", service.raw().status_code());
        let code = service.err().code().unwrap_or(&status);
        let message = service.err().message().unwrap_or("");
        let hint = match code {
            "AccessDenied" | "AccessDeniedException" | "Forbidden" => Some(
                "the credentials in use lack this permission: `maint grant --print` shows \
                     what each operation needs",
            ),
            "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => Some(
                "the credentials have expired: refresh them, e.g. `aws sso login`, and run again",
            ),
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId" => Some("check the access key and secret in use"),
            "Throttling" | "ThrottlingException" | "SlowDown" | "TooManyRequestsException" => Some(
                "AWS is throttling this account: wait a minute and run again; the command \
                     picks up where it stopped",
            ),
            // UpdateDistribution of a config naming a web ACL the caller
            // may not read: "Unable to verify read permissions on Web ACL".
            "InvalidWebACLId" => Some(
                "the distribution names a web ACL the credentials may not read (or it is \
                 gone): `maint grant --operations admin` reads the distribution and adds \
                 wafv2:GetWebACL on its ACL (docs/iam.md)",
            ),
            "NoSuchBucket" => Some("it does not exist yet: run `maint provision` first"),
            "NoSuchDistribution" => {
                Some("check the distribution id, and that the credentials are for its AWS account")
            }
            _ => None,
        };
        let message = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        let failure = Failure::new(Kind::Aws, format!("{doing} failed: {code}{message}"));
        return match hint {
            Some(hint) => failure.hint(hint),
            None => failure,
        }
        .into();
    }
    if chain.contains("SSO token") || chain.contains("loading an access token") {
        let profile = std::env::var("AWS_PROFILE")
            .ok()
            .filter(|p| !p.is_empty())
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default();
        return Failure::new(
            Kind::Aws,
            format!(
                "{doing} failed: the AWS SSO session has no valid token (never started, or expired)"
            ),
        )
        .hint(format!(
            "run `aws sso login{profile}` (with the profile maint uses), then run again"
        ))
        .into();
    }
    if chain.contains("no credentials")
        || chain.contains("credentials provider")
        || chain.contains("CredentialsNotLoaded")
        || chain.contains("IMDS")
    {
        return Failure::new(
            Kind::Aws,
            format!("{doing} failed: no AWS credentials found"),
        )
        .hint(
            "set AWS_PROFILE or --profile, run `aws sso login`, or export AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY",
        )
        .into();
    }
    if calls::is_refused(&err) {
        return Failure::new(
            Kind::Aws,
            format!("{doing} failed: the connection was refused (nothing answers at the endpoint)"),
        )
        .hint(
            "check --endpoint-url (or AWS_ENDPOINT_URL), the proxy and the network, then run again",
        )
        .into();
    }
    let call = calls::unanswered().unwrap_or_else(|| "the call".to_string());
    match &err {
        SdkError::TimeoutError(_) => Failure::new(
            Kind::Aws,
            format!(
                "{doing} failed: no answer from AWS ({call}) within the time the call needs, \
                 attempt after attempt ({chain})"
            ),
        )
        .hint("AWS or the network is not answering: check the network, the region, the proxy and --endpoint-url, then run again")
        .into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => Failure::new(
            Kind::Aws,
            format!("{doing} failed: no answer from AWS ({call}) in time ({chain})"),
        )
        .hint("AWS or the network is not answering: check the network, the region, the proxy and --endpoint-url, then run again")
        .into(),
        SdkError::DispatchFailure(_) => Failure::new(
            Kind::Aws,
            format!("{doing} failed: could not reach AWS ({call}: {chain})"),
        )
        .hint("check the network, the region and --endpoint-url, then run again")
        .into(),
        _ => Failure::new(Kind::Aws, format!("{doing} failed: {chain}")).into(),
    }
}

/// The one "not found" rule of the adapters: a read of something AWS says
/// does not exist (`missing` names its error) is `Ok(None)`; any other error
/// is explained.
pub fn absent<T, E, R>(
    err: SdkError<E, R>,
    missing: impl FnOnce(&E) -> bool,
    doing: &str,
) -> anyhow::Result<Option<T>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug + Send + Sync + 'static,
{
    if err.as_service_error().is_some_and(missing) {
        return Ok(None);
    }
    Err(explain(doing, err))
}

/// ... and a delete of something already gone is done.
pub fn gone<E, R>(
    err: SdkError<E, R>,
    missing: impl FnOnce(&E) -> bool,
    doing: &str,
) -> anyhow::Result<()>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug + Send + Sync + 'static,
{
    absent::<(), E, R>(err, missing, doing).map(|_| ())
}

/// An error and its sources on one line, without debug dumps.
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::head_bucket::HeadBucketError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(status: u16, code: Option<&str>, message: &str) -> anyhow::Error {
        let mut meta = ErrorMetadata::builder().message(message);
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let err = SdkError::service_error(
            HeadBucketError::generic(meta.build()),
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
        );
        explain("reading bucket acme", err)
    }

    #[test]
    fn throttling_says_wait_and_run_again() {
        let text =
            service_error(503, Some("SlowDown"), "Please reduce your request rate.").to_string();
        assert!(
            text.starts_with("reading bucket acme failed: SlowDown: Please reduce"),
            "{text}"
        );
        assert!(text.contains("wait a minute and run again"), "{text}");
    }

    #[test]
    fn expired_and_denied_credentials_say_what_to_do() {
        let text =
            service_error(400, Some("ExpiredToken"), "The provided token has expired.").to_string();
        assert!(text.contains("aws sso login"), "{text}");
        let text = service_error(403, Some("AccessDenied"), "Access Denied").to_string();
        assert!(
            text.contains("lack this permission") && text.contains("maint grant --print"),
            "{text}"
        );
        let text = service_error(
            400,
            Some("InvalidWebACLId"),
            "Unable to verify read permissions on Web ACL",
        )
        .to_string();
        assert!(
            text.contains("wafv2:GetWebACL") && text.contains("--operations admin"),
            "{text}"
        );
    }

    #[test]
    fn credentials_that_cannot_load_are_named_as_such_not_as_the_network() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let failure = |text: &'static str| {
            let source = aws_credential_types::provider::error::CredentialsError::provider_error(
                std::io::Error::other(text),
            );
            let err: SdkError<HeadBucketError, HttpResponse> =
                SdkError::dispatch_failure(ConnectorError::other(Box::new(source), None));
            crate::output::describe(&explain("reading bucket acme", err))
        };
        // No credentials anywhere, and instance metadata refused (off EC2).
        let (_, message, hint) = failure(
            "failed to load IMDS session token: service error: request forbidden: IMDS is disabled",
        );
        assert!(message.contains("no AWS credentials found"), "{message}");
        assert!(hint.unwrap().contains("aws sso login"));
        // An SSO profile whose token cache is missing or expired.
        let (_, message, hint) = failure(
            "an error occurred while loading an access token: failed to load the cached SSO token",
        );
        assert!(
            message.contains("SSO session has no valid token"),
            "{message}"
        );
        assert!(hint.unwrap().contains("aws sso login"));
    }

    #[test]
    fn an_error_without_a_code_shows_its_http_status() {
        let text = service_error(501, None, "").to_string();
        assert_eq!(text, "reading bucket acme failed: HTTP 501");
    }
}
