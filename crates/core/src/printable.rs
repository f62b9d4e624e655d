//! Text from outside (a searched keyword, a page name, an approval comment) made safe to show in
//! a terminal, a text email and an HTML one: control characters cannot clear a screen, ring a
//! bell, end a line next to a real link or hide the rest of a value, and bidirectional overrides
//! cannot make `gpj.exe` read as `exe.jpg`. Each is replaced by a visible stand-in, so that what
//! was sent can still be seen.

use std::borrow::Cow;

/// Bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
/// PDI): they reorder what follows them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn needs_replacing(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// `text` with every control character shown as its Unicode control picture (ESC as `␛`, LF as
/// `␊`, NUL as `␀`; DEL and the C1 controls as `�`) and every bidirectional control as `�`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_replacing) {
        return Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| match c {
            '\u{0}'..='\u{1F}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
            c if needs_replacing(c) => '\u{FFFD}',
            c => c,
        })
        .collect::<String>()
        .into()
}

/// As `printable`, keeping line ends and tabs: for text made of lines (a run's status) whose
/// lines may carry outside text.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| needs_replacing(c) && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    text.split('\n')
        .map(|line| {
            line.split('\t')
                .map(|part| printable(part).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

#[cfg(test)]
mod tests {
    use super::{printable, printable_lines};

    #[test]
    fn lines_keep_their_ends() {
        assert_eq!(printable_lines("a\tb\nc\u{1b}d\n"), "a\tb\nc␛d\n");
    }

    #[test]
    fn controls_and_overrides_become_visible_stand_ins() {
        assert_eq!(printable("plain café"), "plain café");
        assert_eq!(
            printable("\u{1b}[2J\u{1b}[H✔ Approved"),
            "␛[2J␛[H✔ Approved"
        );
        assert_eq!(printable("a\r\nApprove: evil"), "a␍␊Approve: evil");
        assert_eq!(printable("bell\u{7}nul\u{0}"), "bell␇nul␀");
        assert_eq!(
            printable("invoice\u{202E}gpj.exe"),
            "invoice\u{FFFD}gpj.exe"
        );
        assert_eq!(printable("del\u{7f}c1\u{9b}"), "del\u{FFFD}c1\u{FFFD}");
    }
}
