//! The subset of the report filter language the simulator evaluates: clauses joined by `AND`,
//! each `attr = 'value'`, `attr != 'value'` or `attr IN ( 'a' , 'b' )`, with fully qualified
//! attribute names (the documented forms; `WITHIN`, `BETWEEN` and `OR` are refused as
//! unsupported here, a simulator limit, not the API's).

use crate::data::EventRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Filter {
    clauses: Vec<Clause>,
}

impl Filter {
    /// Parses `text`; attribute names must start with `prefix` (`employee_experience.apps.`) or
    /// `Err` names the problem.
    pub fn parse(text: &str, prefix: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut clauses = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let Tok::Word(attr) = &tokens[i] else {
                return Err(format!("expected an attribute at token {}", i + 1));
            };
            let Some(short) = attr.strip_prefix(prefix) else {
                return Err(format!("unknown attribute [{attr}]"));
            };
            if EventRow::known(short).is_none() {
                return Err(format!("unknown attribute [{attr}]"));
            }
            let op = tokens.get(i + 1).ok_or("a clause has no operator")?;
            match op {
                Tok::Word(w) if w.eq_ignore_ascii_case("IN") => {
                    if tokens.get(i + 2) != Some(&Tok::Open) {
                        return Err("IN needs a parenthesized list".into());
                    }
                    let mut values = Vec::new();
                    let mut j = i + 3;
                    loop {
                        match tokens.get(j) {
                            Some(Tok::Str(v)) => values.push(v.clone()),
                            _ => return Err("IN list holds something other than strings".into()),
                        }
                        match tokens.get(j + 1) {
                            Some(Tok::Comma) => j += 2,
                            Some(Tok::Close) => break,
                            _ => return Err("IN list is not closed".into()),
                        }
                    }
                    clauses.push(Clause::In(short.to_owned(), values));
                    i = j + 2;
                }
                Tok::Eq | Tok::Ne => {
                    let Some(Tok::Str(v)) = tokens.get(i + 2) else {
                        return Err("a comparison needs a quoted value".into());
                    };
                    clauses.push(if *op == Tok::Eq {
                        Clause::Eq(short.to_owned(), v.clone())
                    } else {
                        Clause::Ne(short.to_owned(), v.clone())
                    });
                    i += 3;
                }
                Tok::Word(w) => return Err(format!("unsupported operator [{w}]")),
                _ => return Err("unsupported operator".into()),
            }
            match tokens.get(i) {
                None => break,
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("AND") => i += 1,
                Some(_) => return Err("clauses must be joined by AND".into()),
            }
        }
        Ok(Self { clauses })
    }

    pub fn matches(&self, row: &EventRow) -> bool {
        self.clauses.iter().all(|c| match c {
            Clause::Eq(a, v) => row.attr(a).as_deref() == Some(v.as_str()),
            Clause::Ne(a, v) => row.attr(a).as_deref() != Some(v.as_str()),
            Clause::In(a, vs) => row.attr(a).is_some_and(|x| vs.contains(&x)),
        })
    }

    /// Whether every clause is on one of these attributes.
    pub fn only_on(&self, attrs: &[&str]) -> bool {
        self.clauses.iter().all(|c| {
            let a = match c {
                Clause::Eq(a, _) | Clause::Ne(a, _) | Clause::In(a, _) => a,
            };
            attrs.contains(&a.as_str())
        })
    }

    /// The values an `IN` or `=` clause allows for an attribute, when the filter restricts it
    /// (lets the synthetic generator skip whole apps instead of testing every row).
    pub fn allowed(&self, attr: &str) -> Option<Vec<String>> {
        self.clauses.iter().find_map(|c| match c {
            Clause::Eq(a, v) if a == attr => Some(vec![v.clone()]),
            Clause::In(a, vs) if a == attr => Some(vs.clone()),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Eq,
    Ne,
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | '=' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    ',' => Tok::Comma,
                    _ => Tok::Eq,
                });
            }
            '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err("unexpected '!'".into());
                }
                out.push(Tok::Ne);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(ch) => s.push(ch),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || ch == '_' || ch == '.' {
                        w.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if w.is_empty() {
                    return Err(format!("unexpected character '{c}'"));
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "employee_experience.apps.";

    #[test]
    fn parses_the_documented_forms() {
        let f = Filter::parse(
            "employee_experience.apps.event_name = 'Application Foreground' AND employee_experience.apps._application_name IN ( 'Slack' , 'Zoom' )",
            P,
        )
        .expect("parses");
        assert_eq!(
            f.allowed("_application_name"),
            Some(vec!["Slack".into(), "Zoom".into()])
        );
        assert_eq!(
            f.allowed("event_name"),
            Some(vec!["Application Foreground".into()])
        );
    }

    #[test]
    fn refuses_unknown_attributes_and_operators() {
        assert!(Filter::parse("employee_experience.apps.nope = 'x'", P).is_err());
        assert!(Filter::parse("airwatch.device.device_id = 'x'", P).is_err());
        assert!(Filter::parse("employee_experience.apps.user WITHIN 28 days", P).is_err());
        assert!(
            Filter::parse(
                "employee_experience.apps.user = 'a' OR employee_experience.apps.user = 'b'",
                P
            )
            .is_err()
        );
    }
}
