//! Least-privilege access, as IAM documents: the policy one environment's
//! chosen operations need, on that environment's resources only, and the
//! trust policy that lets exactly one GitHub repository (or GitLab project)
//! assume the CI role through OIDC. Pure: `commands::grant` finds the
//! resources on AWS and writes the documents to IAM.
//!
//! Each operation lists the IAM actions its commands need, and on which
//! resource. AWS's Service Authorization Reference says which actions an API
//! call needs and which resources an action can be narrowed to (docs/iam.md
//! cites it); tests/integration/grant.rs records what each command really sends to the
//! emulator, maps it with that reference, and compares: nothing missing,
//! nothing extra.

pub mod observed;
mod operation;
pub mod plan;
mod policy;
pub mod revoke;
pub mod trust;

pub use operation::*;
pub use policy::*;
