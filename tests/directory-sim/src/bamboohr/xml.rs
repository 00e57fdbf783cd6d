//! BambooHR's XML shapes (its default representation): `<employee id>` with `<field id>`
//! children, and the `<directory>` with its `<fieldset>` and `<employees>`.

/// Escapes text for an XML element or a double-quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// One employee's field values, in request order (`None` = no value).
pub(crate) type FieldValues = Vec<(String, Option<String>)>;

const PROLOG: &str = "<?xml version=\"1.0\"?>\n";

fn fields(out: &mut String, values: &[(String, Option<String>)]) {
    for (id, v) in values {
        out.push_str(&format!(
            "<field id=\"{}\">{}</field>\n",
            escape(id),
            escape(v.as_deref().unwrap_or_default())
        ));
    }
}

/// One employee: `<employee id="123">` with a `<field>` per requested field.
pub(crate) fn employee(id: u64, values: &[(String, Option<String>)]) -> String {
    let mut out = format!("{PROLOG}<employee id=\"{id}\">\n");
    fields(&mut out, values);
    out.push_str("</employee>\n");
    out
}

/// The employee directory.
pub(crate) fn directory(
    fieldset: &[(&str, &str, &str)],
    employees: &[(u64, FieldValues)],
) -> String {
    let mut out = format!("{PROLOG}<directory>\n<fieldset>\n");
    for (id, kind, name) in fieldset {
        out.push_str(&format!(
            "<field id=\"{}\" type=\"{}\">{}</field>\n",
            escape(id),
            escape(kind),
            escape(name)
        ));
    }
    out.push_str("</fieldset>\n<employees>\n");
    for (id, values) in employees {
        out.push_str(&format!("<employee id=\"{id}\">\n"));
        fields(&mut out, values);
        out.push_str("</employee>\n");
    }
    out.push_str("</employees>\n</directory>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("R&D <\"x\">'"),
            "R&amp;D &lt;&quot;x&quot;&gt;&apos;"
        );
    }

    #[test]
    fn employee_shape() {
        let x = employee(7, &[("firstName".into(), Some("Jo & Co".into()))]);
        assert_eq!(
            x,
            "<?xml version=\"1.0\"?>\n<employee id=\"7\">\n<field id=\"firstName\">Jo &amp; Co</field>\n</employee>\n"
        );
    }
}
