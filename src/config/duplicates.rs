//! A key given twice in one mapping of `maint.yaml`, found on the YAML
//! events: serde's parser keeps the last silently.

use std::collections::BTreeMap;

use anyhow::Result;

/// Refuses a key given twice in one mapping, anywhere in the file, naming
/// both lines: YAML parsers keep the last silently, so two environments of
/// the same name would merge into one.
pub(super) fn no_duplicate_keys(text: &str) -> Result<(), String> {
    use yaml_rust2::parser::{Event, Parser};
    /// A mapping being read: keys seen (with their line), and whether the
    /// next node is a key.
    struct Mapping {
        seen: BTreeMap<String, usize>,
        at_key: bool,
    }
    let mut stack: Vec<Option<Mapping>> = Vec::new(); // None: a sequence
    let mut parser = Parser::new_from_str(text);
    // A node that ends here makes the enclosing mapping expect a key again.
    fn node_done(stack: &mut [Option<Mapping>]) {
        if let Some(Some(m)) = stack.last_mut() {
            m.at_key = !m.at_key;
        }
    }
    loop {
        // Syntax errors are left to the full parse, which says it better.
        let Ok((event, mark)) = parser.next_token() else {
            return Ok(());
        };
        match event {
            Event::StreamEnd => return Ok(()),
            Event::MappingStart(..) => {
                stack.push(Some(Mapping {
                    seen: BTreeMap::new(),
                    at_key: true,
                }));
            }
            Event::SequenceStart(..) => stack.push(None),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack);
            }
            Event::Scalar(value, ..) => {
                if let Some(Some(m)) = stack.last_mut()
                    && m.at_key
                {
                    let line = mark.line();
                    if let Some(first) = m.seen.insert(value.clone(), line) {
                        return Err(format!(
                            "`{value}` is given twice in the same mapping, at line {first} and at \
                             line {line}: keep one (YAML would silently use the last)"
                        ));
                    }
                }
                node_done(&mut stack);
            }
            Event::Alias(_) => node_done(&mut stack),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    #[test]
    fn a_key_given_twice_is_refused_with_both_lines() {
        let err = Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  prod:\n    region: us-east-1\n    bucket: acme-a\n  prod:\n    region: eu-west-1\n    bucket: acme-b\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`prod` is given twice in the same mapping, at line 2 and at line 5"),
            "{err}"
        );
        let err = Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  s:\n    region: us-east-1\n    bucket: acme-a\n    window:\n      retry_after: 10\n      retry_after: 20\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`retry_after` is given twice"), "{err}");
        assert!(err.contains("at line 6 and at line 7"), "{err}");
        // The same key in different mappings, and lists of mappings, are fine.
        Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  a:\n    region: us-east-1\n    bucket: acme-a\n    tags: {team: web}\n  b:\n    region: us-east-1\n    bucket: acme-b\n    tags: {team: web}\n",
        )
        .unwrap();
    }
}
