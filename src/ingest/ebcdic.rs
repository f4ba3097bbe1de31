//! EBCDIC (IBM mainframe) documents: encoding_rs has none of these code
//! pages, and no maintained crate does, so the one table is here. Code page
//! 037 (US/Canada; 1140 is 037 with the euro sign) with the seven places
//! where 500 (International) differs; both generated from Python's codecs.

/// Whether bytes start like an EBCDIC XML document ("<?xm" in code page 037/500).
pub(crate) fn looks_like_ebcdic(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x4c, 0x6f, 0xa7, 0x94])
}

/// Decodes EBCDIC bytes; `label` (the document's declared encoding) picks 500 over 037.
pub(crate) fn decode(bytes: &[u8], label: Option<&str>) -> String {
    let cp500 = label.is_some_and(|l| {
        let l = l.to_ascii_lowercase().replace('_', "-");
        l.contains("500") || l.ends_with("-be") || l.ends_with("-ch")
    });
    // 1140 is 037 with the euro sign in place of the currency sign.
    let cp1140 = label.is_some_and(|l| l.contains("1140"));
    bytes
        .iter()
        .map(|&b| match CP500_DIFFERS.iter().find(|(at, _)| *at == b) {
            Some((_, c)) if cp500 => *c,
            _ if cp1140 && b == 0x9f => '€',
            _ => CP037[usize::from(b)],
        })
        .collect()
}

/// The declared encoding of an EBCDIC document (its declaration is ASCII-range text).
pub(crate) fn declared_label(bytes: &[u8]) -> Option<String> {
    let head: String = decode(&bytes[..bytes.len().min(256)], None);
    let decl = &head[..head.find("?>")?];
    let at = decl.find("encoding")? + "encoding".len();
    let rest = decl[at..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// Code page 037 bytes of `text` (characters it lacks become `?`), for tests.
#[cfg(test)]
pub(crate) fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| CP037.iter().position(|&e| e == c).map_or(0x6f, |b| b as u8))
        .collect()
}

const CP500_DIFFERS: [(u8, char); 7] = [
    (0x4a, '['),
    (0x4f, '!'),
    (0x5a, ']'),
    (0x5f, '^'),
    (0xb0, '¢'),
    (0xba, '¬'),
    (0xbb, '|'),
];

#[rustfmt::skip]
const CP037: [char; 256] = [
    '\u{0000}', '\u{0001}', '\u{0002}', '\u{0003}', '\u{009c}', '\u{0009}', '\u{0086}', '\u{007f}', '\u{0097}', '\u{008d}', '\u{008e}', '\u{000b}', '\u{000c}', '\u{000d}', '\u{000e}', '\u{000f}',
    '\u{0010}', '\u{0011}', '\u{0012}', '\u{0013}', '\u{009d}', '\u{0085}', '\u{0008}', '\u{0087}', '\u{0018}', '\u{0019}', '\u{0092}', '\u{008f}', '\u{001c}', '\u{001d}', '\u{001e}', '\u{001f}',
    '\u{0080}', '\u{0081}', '\u{0082}', '\u{0083}', '\u{0084}', '\u{000a}', '\u{0017}', '\u{001b}', '\u{0088}', '\u{0089}', '\u{008a}', '\u{008b}', '\u{008c}', '\u{0005}', '\u{0006}', '\u{0007}',
    '\u{0090}', '\u{0091}', '\u{0016}', '\u{0093}', '\u{0094}', '\u{0095}', '\u{0096}', '\u{0004}', '\u{0098}', '\u{0099}', '\u{009a}', '\u{009b}', '\u{0014}', '\u{0015}', '\u{009e}', '\u{001a}',
    '\u{0020}', '\u{00a0}', '\u{00e2}', '\u{00e4}', '\u{00e0}', '\u{00e1}', '\u{00e3}', '\u{00e5}', '\u{00e7}', '\u{00f1}', '\u{00a2}', '\u{002e}', '\u{003c}', '\u{0028}', '\u{002b}', '\u{007c}',
    '\u{0026}', '\u{00e9}', '\u{00ea}', '\u{00eb}', '\u{00e8}', '\u{00ed}', '\u{00ee}', '\u{00ef}', '\u{00ec}', '\u{00df}', '\u{0021}', '\u{0024}', '\u{002a}', '\u{0029}', '\u{003b}', '\u{00ac}',
    '\u{002d}', '\u{002f}', '\u{00c2}', '\u{00c4}', '\u{00c0}', '\u{00c1}', '\u{00c3}', '\u{00c5}', '\u{00c7}', '\u{00d1}', '\u{00a6}', '\u{002c}', '\u{0025}', '\u{005f}', '\u{003e}', '\u{003f}',
    '\u{00f8}', '\u{00c9}', '\u{00ca}', '\u{00cb}', '\u{00c8}', '\u{00cd}', '\u{00ce}', '\u{00cf}', '\u{00cc}', '\u{0060}', '\u{003a}', '\u{0023}', '\u{0040}', '\u{0027}', '\u{003d}', '\u{0022}',
    '\u{00d8}', '\u{0061}', '\u{0062}', '\u{0063}', '\u{0064}', '\u{0065}', '\u{0066}', '\u{0067}', '\u{0068}', '\u{0069}', '\u{00ab}', '\u{00bb}', '\u{00f0}', '\u{00fd}', '\u{00fe}', '\u{00b1}',
    '\u{00b0}', '\u{006a}', '\u{006b}', '\u{006c}', '\u{006d}', '\u{006e}', '\u{006f}', '\u{0070}', '\u{0071}', '\u{0072}', '\u{00aa}', '\u{00ba}', '\u{00e6}', '\u{00b8}', '\u{00c6}', '\u{00a4}',
    '\u{00b5}', '\u{007e}', '\u{0073}', '\u{0074}', '\u{0075}', '\u{0076}', '\u{0077}', '\u{0078}', '\u{0079}', '\u{007a}', '\u{00a1}', '\u{00bf}', '\u{00d0}', '\u{00dd}', '\u{00de}', '\u{00ae}',
    '\u{005e}', '\u{00a3}', '\u{00a5}', '\u{00b7}', '\u{00a9}', '\u{00a7}', '\u{00b6}', '\u{00bc}', '\u{00bd}', '\u{00be}', '\u{005b}', '\u{005d}', '\u{00af}', '\u{00a8}', '\u{00b4}', '\u{00d7}',
    '\u{007b}', '\u{0041}', '\u{0042}', '\u{0043}', '\u{0044}', '\u{0045}', '\u{0046}', '\u{0047}', '\u{0048}', '\u{0049}', '\u{00ad}', '\u{00f4}', '\u{00f6}', '\u{00f2}', '\u{00f3}', '\u{00f5}',
    '\u{007d}', '\u{004a}', '\u{004b}', '\u{004c}', '\u{004d}', '\u{004e}', '\u{004f}', '\u{0050}', '\u{0051}', '\u{0052}', '\u{00b9}', '\u{00fb}', '\u{00fc}', '\u{00f9}', '\u{00fa}', '\u{00ff}',
    '\u{005c}', '\u{00f7}', '\u{0053}', '\u{0054}', '\u{0055}', '\u{0056}', '\u{0057}', '\u{0058}', '\u{0059}', '\u{005a}', '\u{00b2}', '\u{00d4}', '\u{00d6}', '\u{00d2}', '\u{00d3}', '\u{00d5}',
    '\u{0030}', '\u{0031}', '\u{0032}', '\u{0033}', '\u{0034}', '\u{0035}', '\u{0036}', '\u{0037}', '\u{0038}', '\u{0039}', '\u{00b3}', '\u{00db}', '\u{00dc}', '\u{00d9}', '\u{00da}', '\u{009f}',
];
