//! Network ranges the window lets through (bypass by address).

use serde::Serialize;

/// An IP range in CIDR notation whose host bits are zero, e.g. `203.0.113.0/24`.
/// A bare address is a range of one (`/32`, `/128`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Cidr(ipnet::IpNet);
validated_string!(Cidr);

impl TryFrom<String> for Cidr {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let fail = |why: &str| Err(format!("invalid IP range `{text}`: {why}"));
        let net = match text.parse::<ipnet::IpNet>() {
            Ok(net) => net,
            Err(_) => match text.parse::<std::net::IpAddr>() {
                Ok(addr) => ipnet::IpNet::from(addr),
                Err(_)
                    if text.contains('/')
                        && text
                            .split('/')
                            .next()
                            .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok()) =>
                {
                    let max = if text.contains(':') { 128 } else { 32 };
                    return fail(&format!("the prefix length must be 0 to {max}"));
                }
                Err(_) => {
                    return fail(
                        "expected CIDR notation such as `203.0.113.0/24` or `2001:db8::/32`",
                    );
                }
            },
        };
        // The bits after the prefix must be zero: `10.1.2.3/8` is almost always a typo.
        if net.trunc() != net {
            return fail(
                "host bits are set after the prefix (use the network address, e.g. `10.0.0.0/8`)",
            );
        }
        Ok(Self(net))
    }
}

impl From<Cidr> for String {
    fn from(cidr: Cidr) -> Self {
        cidr.0.to_string()
    }
}

impl Cidr {
    pub fn network(&self) -> std::net::IpAddr {
        self.0.network()
    }

    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether `ip` is inside the range (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address, as the window function counts it).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            std::net::IpAddr::V4(_) => ip,
        };
        self.0.contains(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_contain_their_addresses() {
        let c = |s: &str| Cidr::try_from(s.to_string()).unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(c("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!c("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(c("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(c("0.0.0.0/0").contains(ip("198.51.100.23")));
        assert!(!c("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(c("2001:db8::/32").contains(ip("2001:db8:ffff::23")));
        assert!(!c("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(c("::/0").contains(ip("::1")));
        assert!(c("203.0.113.7/32").contains(ip("203.0.113.7")));
        assert!(!c("203.0.113.7/32").contains(ip("203.0.113.8")));
    }

    #[test]
    fn cidrs_parse_both_families_and_refuse_host_bits() {
        let v4 = Cidr::try_from("203.0.113.0/24".to_string()).unwrap();
        assert_eq!(
            (v4.network().to_string(), v4.prefix()),
            ("203.0.113.0".into(), 24)
        );
        let single = Cidr::try_from("198.51.100.7".to_string()).unwrap();
        assert_eq!(single.prefix(), 32);
        let v6 = Cidr::try_from("2001:db8::/32".to_string()).unwrap();
        assert_eq!(v6.prefix(), 32);
        assert!(Cidr::try_from("0.0.0.0/0".to_string()).is_ok());
        assert!(Cidr::try_from("::/0".to_string()).is_ok());
        for bad in [
            "10.1.2.3/8",
            "2001:db8::1/32",
            "10.0.0.0/33",
            "::/129",
            "example.com/8",
            "10.0.0.0/x",
        ] {
            assert!(Cidr::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
