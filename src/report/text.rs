//! Text hygiene shared by the renderers: ANSI stripping, XML-safe text, Markdown escaping, durations.

/// Removes ANSI escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ESC \`, and two-byte escapes).
///
/// Suite output is captured from terminals and CI runners; colour codes are noise in every report format.
pub fn strip_ansi(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // CSI: parameters and intermediates until a final byte in 0x40..=0x7E.
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                // OSC: until BEL or the string terminator ESC '\'.
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            // Any other escape is two characters long; a trailing lone ESC is dropped.
            _ => {}
        }
    }
    out
}

/// True for characters XML 1.0 allows in documents.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

/// Strips ANSI escapes and characters XML 1.0 cannot carry (control characters, U+FFFE, U+FFFF).
pub fn xml_clean(input: &str) -> String {
    strip_ansi(input).chars().filter(|&c| is_xml_char(c)).collect()
}

/// Escapes `<`, `>` and `&` so untrusted text cannot open HTML tags inside Markdown.
fn html_escape_into(out: &mut String, c: char) -> bool {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        _ => return false,
    }
    true
}

/// Text for HTML context inside Markdown (`<summary>`).
pub fn html_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in strip_ansi(input).chars() {
        if !html_escape_into(&mut out, c) {
            out.push(if c == '\n' || c == '\r' { ' ' } else { c });
        }
    }
    out
}

/// Text safe inside one line of Markdown (a heading, a list item or a table cell).
///
/// Newlines become `<br>` so a multi-line value stays in its cell; Markdown punctuation is
/// backslash-escaped so a hostile id cannot start emphasis, a code span, a link or a new column.
pub fn md_inline(input: &str) -> String {
    let cleaned = strip_ansi(input);
    let trimmed = cleaned.trim_matches(|c| c == '\n' || c == '\r');
    let chars: Vec<char> = trimmed.chars().collect();
    let mut out = String::with_capacity(trimmed.len());
    for (i, &c) in chars.iter().enumerate() {
        if html_escape_into(&mut out, c) {
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        match c {
            '\r' => {
                if next != Some('\n') {
                    out.push_str("<br>");
                }
            }
            // An underscore inside a word never starts emphasis; leaving it keeps `spot_pools` readable.
            '_' if prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric) => out.push(c),
            '\n' => out.push_str("<br>"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block whose fence is longer than any backtick run in the content,
/// so untrusted text containing ``` cannot close it early.
pub fn md_code_block(content: &str, info: &str) -> String {
    let cleaned = strip_ansi(content);
    let mut longest = 0usize;
    let mut run = 0usize;
    for c in cleaned.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let body = cleaned.trim_end_matches(['\n', '\r']);
    format!("{fence}{info}\n{body}\n{fence}")
}

/// A human duration: `850ms`, `15.3s`, `4m 07s`, `1h 02m 03s`.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "n/a".to_string();
    }
    if seconds < 1.0 {
        return format!("{}ms", (seconds * 1000.0).round() as u64);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 { format!("{h}h {m:02}m {s:02}s") } else { format!("{m}m {s:02}s") }
}

/// First non-empty line of a message, trimmed.
pub fn first_line(input: &str) -> &str {
    input.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_and_osc_sequences() {
        assert_eq!(strip_ansi("\u{1b}[31mred\u{1b}[0m ok"), "red ok");
        assert_eq!(strip_ansi("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(strip_ansi("a\u{1b}]8;;x\u{1b}\\b"), "ab");
        assert_eq!(strip_ansi("tail\u{1b}"), "tail");
    }

    #[test]
    fn xml_clean_drops_control_characters_but_keeps_whitespace() {
        assert_eq!(xml_clean("a\u{0}b\u{8}c\td\ne\u{ffff}"), "abc\td\ne");
    }

    #[test]
    fn md_inline_neutralises_table_and_html_syntax() {
        assert_eq!(md_inline("a|b"), "a\\|b");
        assert_eq!(md_inline("<script>"), "&lt;script&gt;");
        assert_eq!(md_inline("x\ny"), "x<br>y");
        assert_eq!(md_inline("```"), "\\`\\`\\`");
        assert_eq!(md_inline("spot_pools _x_"), "spot_pools \\_x\\_");
    }

    #[test]
    fn code_block_fence_outgrows_backtick_runs() {
        assert_eq!(md_code_block("a ``` b", ""), "````\na ``` b\n````");
        assert_eq!(md_code_block("plain\n", "bash"), "```bash\nplain\n```");
    }

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human_duration(0.25), "250ms");
        assert_eq!(human_duration(15.34), "15.3s");
        assert_eq!(human_duration(1847.0), "30m 47s");
        assert_eq!(human_duration(3723.0), "1h 02m 03s");
        assert_eq!(human_duration(f64::NAN), "n/a");
    }
}
