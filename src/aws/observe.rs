//! What AWS has for a window, read concurrently: the distribution's
//! behaviors, the store, the function, and the stored bypass hash.

use anyhow::Result;

use super::association::behaviors;
use super::function::find_function;
use super::store::{find_store, get_key};
use crate::window::plan::ObservedWindow;
use crate::window::{BYPASS_KEY, WindowSpec};

/// What AWS has for the window of `spec`: the distribution's behaviors, the
/// store, the function, and (when a secret is configured) the stored hash.
pub async fn window(
    spec: &WindowSpec,
    clients: &super::Clients,
    with_secret: bool,
) -> Result<ObservedWindow> {
    let cf = &clients.cloudfront;
    let (store_name, function_name) = (spec.store_name(), spec.function_name());
    let (behaviors, store, function) = tokio::try_join!(
        behaviors(cf, spec.distribution.as_str(), &function_name),
        find_store(cf, &store_name),
        find_function(cf, &function_name),
    )?;
    let bypass_hash = match (&store, with_secret) {
        (Some(store), true) => get_key(&clients.kvs, &store.arn, BYPASS_KEY).await?,
        _ => None,
    };
    Ok(ObservedWindow {
        store,
        function,
        behaviors,
        bypass_hash,
    })
}
