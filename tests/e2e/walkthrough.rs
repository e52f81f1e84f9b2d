//! The docs' walk-throughs, run as written: `README.md`'s worked example and
//! `docs/compliance-cli.md`'s auditor walk-through, each in one `bash` in a fresh
//! directory, against the binary this build made, and every output the docs show
//! compared with what came out.
//!
//! Only blocks marked with a `<!-- walkthrough -->` line right before their fence
//! run, in order, so the docs can grow other blocks freely. Two kinds:
//!
//! - ```` ```sh ````: commands as a reader pastes them. A run of `#` lines right
//!   after a command (no blank line between) is what the commands since the last
//!   such run print, one line each (`#` alone is an empty line); every command that
//!   prints shows its output. Other comments stand before a command.
//! - ```` ```console ````: `$ command` (continued while a line ends in `\`), then
//!   what it prints, stdout and stderr, as a terminal shows them.
//!
//! In a shown output `…` stands for any text (a line of its own: any lines), and an
//! id, hash or time written right before it (`cc22…`, `2026-11-23T11:06…`) is only
//! an example of the value it elides. The only substitutions: `rollcall` is this
//! build's binary (first on `PATH`), and the docs' port 8080 is a free one
//! (`ROLLCALL_LISTEN`). The directory holds `scripts/` as a checkout does.
//! `WALKTHROUGH_SHOW=1` prints every step's output, for whoever edits the docs.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rollcall_tests::server::free_port;

/// Longest one document's walk-through may take.
const TIMEOUT: Duration = Duration::from_secs(240);
const MARKER: &str = "<!-- walkthrough -->";

/// Commands, and what the docs say they print.
#[derive(Debug)]
struct Step {
    /// Where the step starts in its document, for failure messages.
    line: usize,
    script: String,
    expected: Vec<String>,
    /// Capture stderr with stdout (a console transcript shows both).
    merge_stderr: bool,
}

/// The marked blocks of `markdown`, as steps.
fn steps(markdown: &str) -> Vec<Step> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != MARKER {
            i += 1;
            continue;
        }
        let fence = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
        let kind = fence
            .strip_prefix("```")
            .unwrap_or_else(|| panic!("line {}: {MARKER} is not right before a fence", i + 1));
        let start = i + 2;
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.trim_start().starts_with("```"))
                .unwrap_or_else(|| panic!("line {}: unclosed fence", i + 2));
        let block = &lines[start..end];
        match kind {
            "sh" => steps.extend(sh_steps(block, start + 1)),
            "console" => steps.extend(console_steps(block, start + 1)),
            other => panic!(
                "line {}: a walk-through block is sh or console, not {other:?}",
                i + 2
            ),
        }
        i = end + 1;
    }
    steps
}

fn is_comment(line: &str) -> bool {
    line == "#" || line.starts_with("# ")
}

/// An sh block: commands up to each run of output comments, then what is left
/// (which must print nothing).
fn sh_steps(block: &[&str], first_line: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut script = String::new();
    let mut start = first_line;
    let mut i = 0;
    while i < block.len() {
        let line = block[i];
        let follows_command = i > 0 && {
            let before = block[i - 1];
            !before.trim().is_empty() && !is_comment(before)
        };
        if is_comment(line) && follows_command && !script.trim().is_empty() {
            let mut expected = Vec::new();
            while i < block.len() && is_comment(block[i]) {
                expected.push(block[i].strip_prefix("# ").unwrap_or("").to_owned());
                i += 1;
            }
            steps.push(Step {
                line: start,
                script: std::mem::take(&mut script),
                expected,
                merge_stderr: false,
            });
            start = first_line + i;
            continue;
        }
        script.push_str(line);
        script.push('\n');
        i += 1;
    }
    if !script.trim().is_empty() {
        steps.push(Step {
            line: start,
            script,
            expected: Vec::new(),
            merge_stderr: false,
        });
    }
    steps
}

/// A console block: `$ command` and the lines it prints.
fn console_steps(block: &[&str], first_line: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for (i, line) in block.iter().enumerate() {
        if continued {
            let step = steps.last_mut().expect("a command to continue");
            step.script.push_str(line);
            step.script.push('\n');
            continued = line.ends_with('\\');
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: first_line + i,
                script: format!("{command}\n"),
                expected: Vec::new(),
                merge_stderr: true,
            });
            continued = command.ends_with('\\');
        } else {
            steps
                .last_mut()
                .unwrap_or_else(|| panic!("line {}: output before any `$ `", first_line + i))
                .expected
                .push((*line).to_owned());
        }
    }
    steps
}

/// Trailing blanks and `\r` gone, and no empty lines at either end.
fn normalize<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut out: Vec<String> = lines
        .into_iter()
        .map(|l| l.as_ref().replace('\r', "").trim_end().to_owned())
        .collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    let leading = out.iter().take_while(|l| l.is_empty()).count();
    out.drain(..leading);
    out
}

/// Characters of an example value written right before `…`.
fn example_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '+' | '_' | '-')
}

/// Does `actual` match the shown `expected` line (`…` standing for any text)?
fn line_matches(expected: &str, actual: &str) -> bool {
    let mut pieces: Vec<&str> = expected.split('…').collect();
    if pieces.len() == 1 {
        return expected == actual;
    }
    let last = pieces.len() - 1;
    for piece in &mut pieces[..last] {
        *piece = piece.trim_end_matches(example_char);
    }
    let (first, rest) = (pieces[0], &pieces[1..]);
    let Some(mut remaining) = actual.strip_prefix(first) else {
        return false;
    };
    let (tail, middle) = rest.split_last().expect("at least two pieces");
    for piece in middle {
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.ends_with(tail)
}

/// Do the lines match, a line `…` standing for any number of lines?
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e.trim() == "…" => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((e, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(e, a) && lines_match(rest, more)),
    }
}

/// The docs' port, and the address the server answers on, become the free port.
fn on_port(text: &str, port: u16) -> String {
    let here = format!("127.0.0.1:{port}");
    text.replace("localhost:8080", &here)
        .replace("127.0.0.1:8080", &here)
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `doc`'s walk-through and fails naming the first step whose output differs.
fn walk(doc: &str) {
    let markdown = std::fs::read_to_string(repo().join(doc)).expect("read the doc");
    let steps = steps(&markdown);
    assert!(!steps.is_empty(), "{doc} has no walk-through blocks");
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let bin_dir = dir.path().join("bin");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&bin_dir).expect("bin dir");
    std::fs::create_dir_all(&work).expect("work dir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rollcall"), bin_dir.join("rollcall"))
        .expect("link the binary");
    std::os::unix::fs::symlink(repo().join("scripts"), work.join("scripts"))
        .expect("link scripts/");

    let mut script = String::from("cd \"$WALK_DIR\"\n");
    for (n, step) in steps.iter().enumerate() {
        // The marker keeps `$?`, so a step may show the previous one's exit code.
        script.push_str(&format!(
            "__rc=$?; printf '\\n@@step {n}@@\\n'; (exit $__rc)\n"
        ));
        let body = on_port(&step.script, port);
        if step.merge_stderr {
            script.push_str(&format!("{{\n{body}}} 2>&1\n"));
        } else {
            script.push_str(&body);
        }
    }
    script.push_str("printf '\\n@@end@@\\n'\nkill $(jobs -p) 2>/dev/null; wait\n");

    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .env("WALK_DIR", &work)
        .env("ROLLCALL_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (name, _) in std::env::vars() {
        if name.starts_with("ROLLCALL_") && name != "ROLLCALL_LISTEN" || name == "NATS_URL" {
            command.env_remove(name);
        }
    }
    let mut child = command.spawn().expect("run bash");
    let pgid = child.id();
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + TIMEOUT;
    let timed_out = loop {
        if child.try_wait().expect("wait for bash").is_some() {
            break false;
        }
        if Instant::now() > deadline {
            break true;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Whatever is left of the process group (a server the docs started) goes too.
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    let context = |what: String| -> String {
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "{doc}: {what}\n--- stderr (last lines) ---\n{}",
            tail.join("\n")
        )
    };
    assert!(
        !timed_out,
        "{}",
        context(format!("did not finish within {TIMEOUT:?}"))
    );

    let mut differences = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let open = format!("@@step {n}@@\n");
        let Some(from) = stdout.find(&open).map(|at| at + open.len()) else {
            differences.push(format!("the step at line {} never ran", step.line));
            break;
        };
        let to = stdout[from..]
            .find("\n@@")
            .map_or(stdout.len(), |at| from + at);
        let actual = normalize(stdout[from..to].lines());
        let expected = normalize(step.expected.iter().map(|l| on_port(l, port)));
        if std::env::var_os("WALKTHROUGH_SHOW").is_some() {
            // For whoever edits the docs: every step's output as it came.
            eprintln!("--- {doc}:{} ---\n{}", step.line, actual.join("\n"));
        }
        if !lines_match(&expected, &actual) {
            differences.push(format!(
                "the step at line {} printed something else\n--- commands ---\n{}\
                 --- the docs show ---\n{}\n--- it printed ---\n{}",
                step.line,
                step.script,
                expected.join("\n"),
                actual.join("\n")
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{}",
        context(differences.join("\n\n"))
    );
}

#[test]
fn the_readme_worked_example_runs_as_written() {
    walk("README.md");
}

#[test]
fn the_compliance_walk_through_runs_as_written() {
    walk("docs/compliance-cli.md");
}

#[test]
fn shown_output_elides_with_an_ellipsis() {
    assert!(line_matches("abc", "abc"));
    assert!(!line_matches("abc", "abcd"));
    assert!(line_matches(
        r#"{"id":"cc22…","n":1}"#,
        r#"{"id":"0193-ab","n":1}"#
    ));
    assert!(line_matches("hash 2ad69c54…", "hash ffff"));
    assert!(line_matches("0000…0000", &"0".repeat(64)));
    assert!(line_matches(
        "at 2026-11-23T11:06…, ok",
        "at 2027-01-01T00:00:00Z, ok"
    ));
    assert!(!line_matches("a…b…c", "a-c-b"));
    let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(lines_match(
        &lines(&["a", "…", "z"]),
        &lines(&["a", "b", "c", "z"])
    ));
    assert!(lines_match(&lines(&["a", "…", "z"]), &lines(&["a", "z"])));
    assert!(!lines_match(&lines(&["a", "…", "z"]), &lines(&["a", "b"])));

    let doc = "text\n<!-- walkthrough -->\n```sh\nA=1\necho $A\n# 1\n\n# a note\ntrue\n```\n\
               ```sh\nnot run\n```\n<!-- walkthrough -->\n```console\n$ echo a \\\n  b\na b\n$ false\n```\n";
    let s = steps(doc);
    let shown: Vec<(&str, Vec<String>, bool)> = s
        .iter()
        .map(|s| (s.script.as_str(), s.expected.clone(), s.merge_stderr))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("A=1\necho $A\n", vec!["1".to_owned()], false),
            ("\n# a note\ntrue\n", vec![], false),
            ("echo a \\\n  b\n", vec!["a b".to_owned()], true),
            ("false\n", vec![], true),
        ]
    );
}
