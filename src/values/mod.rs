//! Validated configuration values.
//!
//! Each type here checks, when it is built, what AWS would reject later, so a
//! bad value is reported while reading `maint.yaml` (with its line and column,
//! since the YAML parser attaches the position to a `try_from` failure) and never
//! reaches an API call. The emulator accepts much that AWS refuses; these rules
//! follow the AWS documentation, not the emulator.

/// Deserialises a string type through its `TryFrom<String>` inside the
/// scalar's visitor, so the YAML error carries the value's own line and column
/// (a `#[serde(try_from)]` error would point at the enclosing mapping).
macro_rules! validated_string {
    ($name:ident) => {
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::try_from(v.to_string()).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub mod aws;
pub mod cloudfront;
pub mod network;
pub mod page;
pub mod s3;

pub use aws::*;
pub use cloudfront::*;
pub use network::*;
pub use page::*;
pub use s3::*;
