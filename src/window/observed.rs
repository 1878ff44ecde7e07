//! What AWS has for a window now, as `attach`, `detach` and `status` read it:
//! the store, the function in both stages, each behavior's viewer-request
//! slot, and the stored bypass hash.

use crate::window::Behavior;

/// A KeyValueStore as the control plane describes it.
#[derive(Debug, Clone)]
pub struct Store {
    pub arn: String,
    pub status: String,
    pub etag: String,
}

/// The function as CloudFront has it, in both stages.
#[derive(Debug, Clone)]
pub struct FunctionState {
    pub arn: String,
    /// ETag of the DEVELOPMENT stage, for update and publish.
    pub etag: String,
    pub code: Vec<u8>,
    pub runtime: String,
    pub store_arns: Vec<String>,
    /// The published (LIVE) code, if the function was ever published.
    pub live_code: Option<Vec<u8>>,
}

/// What AWS has for a window now.
#[derive(Debug, Clone)]
pub struct ObservedWindow {
    pub store: Option<Store>,
    pub function: Option<FunctionState>,
    pub behaviors: Vec<Behavior>,
    /// The stored bypass hash (read only when a secret is configured).
    pub bypass_hash: Option<String>,
}
