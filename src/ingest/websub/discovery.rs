//! Where a feed says its WebSub hubs are: `Link` headers (RFC 8288), which
//! win, else the document's `<link rel="hub">` and `rel="self"`.

use url::Url;

/// The hubs a feed names, and what they know it as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertised {
    /// In the order given; a feed may name several.
    pub hubs: Vec<Url>,
    /// `rel="self"`: the topic URL to subscribe to.
    pub topic: Option<Url>,
}

impl Advertised {
    /// Adds one link (`rel` may hold several relations).
    pub fn add(&mut self, rel: &str, url: Url) {
        for rel in rel.split_ascii_whitespace() {
            match rel.to_ascii_lowercase().as_str() {
                "hub" if !self.hubs.contains(&url) => self.hubs.push(url.clone()),
                "self" if self.topic.is_none() => self.topic = Some(url.clone()),
                _ => {}
            }
        }
    }

    /// What `Link` header values say, relative to `base`.
    pub fn from_link_headers<'a>(values: impl Iterator<Item = &'a str>, base: &Url) -> Self {
        let mut advertised = Advertised::default();
        for value in values {
            for (target, rel) in link_values(value) {
                if let Ok(url) = base.join(target) {
                    advertised.add(&rel, url);
                }
            }
        }
        advertised
    }

    /// These links, else `other`'s (the HTTP headers win over the document).
    pub fn or(self, other: Advertised) -> Advertised {
        match self.hubs.is_empty() {
            false => self,
            true => other,
        }
    }
}

/// The `<target>; rel="..."` pairs of one `Link` header value. Commas and
/// semicolons inside quotes or angle brackets do not split.
fn link_values(value: &str) -> Vec<(&str, String)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = rest[open + 1..open + close].trim();
        rest = &rest[open + close + 1..];
        // The parameters run to the next comma outside quotes.
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                quoted ^= c == '"';
                c == ',' && !quoted
            })
            .map_or(rest.len(), |(i, _)| i);
        let params = &rest[..end];
        rest = &rest[end..];
        let rel = params.split(';').find_map(|param| {
            let (name, value) = param.split_once('=')?;
            (name.trim().eq_ignore_ascii_case("rel")).then(|| value.trim().trim_matches('"'))
        });
        if let Some(rel) = rel {
            links.push((target, rel.to_string()));
        }
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn link_headers_name_the_hubs_and_the_topic() {
        let base = url("https://news.example/feed.xml");
        let got = Advertised::from_link_headers(
            [
                r#"<https://hub.example/>; rel="hub", </feed.xml?a=1,2>; rel="self""#,
                r#"<https://other.example/>; rel="alternate hub""#,
            ]
            .into_iter(),
            &base,
        );
        assert_eq!(
            got.hubs,
            [url("https://hub.example/"), url("https://other.example/")]
        );
        assert_eq!(got.topic, Some(url("https://news.example/feed.xml?a=1,2")));
        // A quoted comma does not end a link; rel is case-insensitive.
        let got = Advertised::from_link_headers(
            [r#"<https://a.example/>; title="x, y"; REL=Hub"#].into_iter(),
            &base,
        );
        assert_eq!(got.hubs, [url("https://a.example/")]);
        assert_eq!(
            Advertised::from_link_headers(["garbage; rel=hub"].into_iter(), &base),
            Advertised::default()
        );
    }
}
