//! S3's names: the bucket, and the page's object key.

use std::fmt;

use serde::Serialize;

/// An S3 bucket name, by the general-purpose bucket naming rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct BucketName(String);
validated_string!(BucketName);

impl TryFrom<String> for BucketName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let fail = |why: &str| {
            Err(format!(
                "invalid bucket name `{name}`: {why} (S3 bucket names are 3 to 63 characters of \
                 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)"
            ))
        };
        if !(3..=63).contains(&name.len()) {
            return fail("it must be 3 to 63 characters long");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return fail("it may only hold lowercase letters, digits, dots and hyphens");
        }
        let first = name.as_bytes()[0];
        let last = name.as_bytes()[name.len() - 1];
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return fail("it must start and end with a letter or digit");
        }
        if name.contains("..") || name.contains(".-") || name.contains("-.") {
            return fail("dots may not be next to each other or to a hyphen");
        }
        if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
            return fail("it must not look like an IP address");
        }
        for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
            if name.starts_with(prefix) {
                return fail(&format!("the prefix `{prefix}` is reserved"));
            }
        }
        for suffix in ["-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"] {
            if name.ends_with(suffix) {
                return fail(&format!("the suffix `{suffix}` is reserved"));
            }
        }
        // Served over HTTPS by its virtual-hosted name, a dotted bucket falls outside
        // the `*.s3.REGION.amazonaws.com` certificate; AWS advises against dots here.
        if name.contains('.') {
            return fail(
                "maint does not use dots, which break HTTPS to the bucket's virtual-hosted name",
            );
        }
        Ok(Self(name))
    }
}

impl From<BucketName> for String {
    fn from(name: BucketName) -> Self {
        name.0
    }
}

impl BucketName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The object key of the error document: what CloudFront fetches as `/KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct PageKey(String);
validated_string!(PageKey);

impl TryFrom<String> for PageKey {
    type Error = String;

    fn try_from(key: String) -> Result<Self, String> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
        if key.is_empty() || key.len() > 255 {
            return Err(format!(
                "invalid document key `{key}`: it must be 1 to 255 characters"
            ));
        }
        if key.starts_with('/') || key.ends_with('/') || key.contains("//") {
            return Err(format!(
                "invalid document key `{key}`: write it without a leading or trailing slash, e.g. `maintenance.html`"
            ));
        }
        if !key.chars().all(ok_char) || key.split('/').any(|p| p == "." || p == "..") {
            return Err(format!(
                "invalid document key `{key}`: use letters, digits, `-`, `_`, `.` and `/` only \
                 (it becomes a CloudFront ResponsePagePath)"
            ));
        }
        Ok(Self(key))
    }
}

impl From<PageKey> for String {
    fn from(key: PageKey) -> Self {
        key.0
    }
}

impl PageKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The CloudFront ResponsePagePath for this key.
    pub fn page_path(&self) -> String {
        format!("/{}", self.0)
    }
}

impl fmt::Display for PageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(s: &str) -> Result<BucketName, String> {
        BucketName::try_from(s.to_string())
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(bucket("acme-maintenance-staging").is_ok());
        assert!(bucket("abc").is_ok());
        for bad in [
            "ab",
            &"a".repeat(64),
            "Acme",
            "acme_site",
            "-acme",
            "acme-",
            "192.168.5.4",
            "xn--acme",
            "acme-s3alias",
            "acme.site",
        ] {
            assert!(bucket(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn page_keys_become_page_paths() {
        let key = PageKey::try_from("errors/maintenance.html".to_string()).unwrap();
        assert_eq!(key.page_path(), "/errors/maintenance.html");
        for bad in ["/x.html", "x/", "a//b", "a b", "../x", ""] {
            assert!(PageKey::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
