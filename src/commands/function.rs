//! `maint function`: print the rendered CloudFront Function, byte for byte
//! what CloudFront gets, for review.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use super::{Output, Session};

#[derive(Debug, Serialize)]
pub struct FunctionCode {
    pub environment: String,
    pub name: String,
    pub bytes: usize,
    pub code: String,
}

impl fmt::Display for FunctionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)
    }
}

pub fn function(session: &Session, out: &Output) -> Result<()> {
    let spec = session.window()?;
    out.progress(format!(
        "// {} ({} of 10240 bytes)",
        spec.function_name(),
        spec.code.len()
    ));
    let code = FunctionCode {
        environment: session.environment.clone(),
        name: spec.function_name(),
        bytes: spec.code.len(),
        code: spec.code.clone(),
    };
    if out.json {
        return out.result(&code);
    }
    // Exactly the bytes CloudFront gets, so `maint function > f.js` can be diffed.
    print!("{}", code.code);
    Ok(())
}
