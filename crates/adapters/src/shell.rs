//! What a shell command line really runs.
//!
//! An agent's `Bash` (or `PowerShell`) call is one string. A hook that looked for `git push` at
//! its start would miss `env GIT_SSH_COMMAND=… git push`, `sh -c "git push origin main"`,
//! `cd repo && git push` or `echo main | xargs git push origin`, so this module reads the line
//! as a POSIX shell does: words with their quoting and escapes, operators (`;`, `&&`, `||`, `|`,
//! `&`, newlines, parentheses) between simple commands, redirections, and command substitution
//! (`$(…)`, backquotes), whose text is read again as a command line. Each simple command is then
//! unwrapped: leading assignments and launchers (`env`, `sudo`, `doas`, `nice`, `ionice`,
//! `timeout`, `nohup`, `time`, `command`, `exec`, `stdbuf`, `xargs`, `chroot`, `setsid` …) are
//! skipped with their options, and `sh -c`/`bash -c`/`eval` read their script again.
//!
//! What comes out is what Warden decides: [`Action::GitPush`] with its remote and refspecs,
//! [`Action::Net`] with the URL and any data sent, [`Action::WriteFile`] for each redirection
//! into a file, and [`Action::Other`] for everything else. Nothing here runs anything.

/// Something the command line does that Warden decides on its own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `git push [REMOTE [REFSPEC…]]`.
    GitPush(GitPush),
    /// `curl`/`wget`/`http` to a URL, with the data it sends, if any.
    Net {
        url: String,
        payload: Option<String>,
    },
    /// Output redirected (`>`, `>>`, `tee`) into a file (as written: relative to the cwd).
    WriteFile { path: String },
    /// Any other program, by its name (for the record; it is a plain `shell.exec`).
    Other { program: String },
}

/// One `git push`: what git was told, before anything is resolved against a repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitPush {
    /// `git -C DIR`: where git runs, relative to the cwd.
    pub dir: Option<String>,
    /// The remote (a name or a URL); `None` means the branch's upstream, usually `origin`.
    pub remote: Option<String>,
    /// The refspecs as written (`main`, `HEAD:release/1.0`, `+feature`, `:gone`).
    pub refspecs: Vec<String>,
    /// `--all`, `--mirror` or `--tags`: every branch (or tag), so the refs are not known.
    pub everything: bool,
    /// `--delete` / `-d`.
    pub delete: bool,
    /// `--force`, `-f` or a `+` refspec.
    pub force: bool,
    /// The push options (`-o`), passed to the server's hooks.
    pub push_options: Vec<String>,
}

impl GitPush {
    /// The (source, destination) of each refspec. A refspec without `:` pushes a ref to the
    /// same name; `HEAD` is left for the caller to resolve to the current branch.
    pub fn ref_pairs(&self) -> Vec<(String, String)> {
        self.refspecs
            .iter()
            .map(|spec| {
                let spec = spec.trim_start_matches('+');
                match spec.split_once(':') {
                    Some((src, "")) => (src.to_owned(), src.to_owned()),
                    Some((src, dst)) => (src.to_owned(), dst.to_owned()),
                    None => (spec.to_owned(), spec.to_owned()),
                }
            })
            .collect()
    }
}

/// How deep `sh -c`, `eval` and `$(…)` may nest before the line is given up on. Past it the
/// command is reported as [`Action::Other`] named `sh`, which stays a `shell.exec`.
const MAX_DEPTH: usize = 8;

/// The actions of a command line, in order.
pub fn analyze(line: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    analyze_into(line, 0, &mut actions);
    actions
}

fn analyze_into(line: &str, depth: usize, actions: &mut Vec<Action>) {
    if depth > MAX_DEPTH {
        actions.push(Action::Other {
            program: "sh".into(),
        });
        return;
    }
    let lexed = lex(line);
    for inner in &lexed.substitutions {
        analyze_into(inner, depth + 1, actions);
    }
    for command in split_commands(&lexed.tokens) {
        for target in &command.redirects {
            if !is_harmless_target(target) {
                actions.push(Action::WriteFile {
                    path: target.clone(),
                });
            }
        }
        simple_command(&command.words, depth, actions);
    }
}

/// A word, or an operator between commands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// `;`, `&`, `&&`, `||`, `|`, `|&`, newline, `(`, `)`, `{`, `}` — all just separate commands.
    Separator,
    /// `>`, `>>`, `&>`, `>|`, `2>` … : the next word is a file written.
    RedirectOut,
    /// `<`, `<<`, `<<<`, `2>&1`-like duplications: the next word is read or is a descriptor.
    RedirectOther,
}

struct Lexed {
    tokens: Vec<Token>,
    /// The text of each `$(…)` and `` `…` `` found, to read again.
    substitutions: Vec<String>,
}

/// Splits a command line into words and operators, as a POSIX shell does: `'…'` is literal,
/// `"…"` keeps `\"`, `\\`, `\$` and `` \` `` escapes, a backslash outside quotes escapes the next
/// character, and `#` at the start of a word starts a comment. An unterminated quote runs to
/// the end (the shell would ask for more; Warden reads what there is).
fn lex(line: &str) -> Lexed {
    let chars: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut substitutions = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let flush = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(&c) = chars.get(i) {
        match c {
            ' ' | '\t' | '\r' => {
                flush(&mut word, &mut in_word, &mut tokens);
                i += 1;
            }
            '\n' | ';' | '(' | ')' => {
                flush(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Separator);
                i += 1;
            }
            '{' | '}' if !in_word && next_is_blank(&chars, i) => {
                tokens.push(Token::Separator);
                i += 1;
            }
            '#' if !in_word => {
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
            }
            '&' | '|' => {
                // `&>` and `&>>` redirect both streams into a file.
                if c == '&' && chars.get(i + 1) == Some(&'>') {
                    flush(&mut word, &mut in_word, &mut tokens);
                    i += 2;
                    if chars.get(i) == Some(&'>') {
                        i += 1;
                    }
                    tokens.push(Token::RedirectOut);
                    continue;
                }
                flush(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Separator);
                i += 1;
                if matches!(chars.get(i), Some('&') | Some('|')) {
                    i += 1;
                }
            }
            '>' | '<' => {
                // A word made only of digits right before is a file descriptor (`2>`).
                if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                flush(&mut word, &mut in_word, &mut tokens);
                let mut j = i + 1;
                while matches!(chars.get(j), Some('>') | Some('<') | Some('|')) {
                    j += 1;
                }
                // `>&2`, `<&0`, `>&-`: duplicating a descriptor writes no file.
                let duplicates = chars.get(j) == Some(&'&');
                if duplicates {
                    j += 1;
                }
                tokens.push(if c == '>' && !duplicates {
                    Token::RedirectOut
                } else {
                    Token::RedirectOther
                });
                i = j;
            }
            '\'' => {
                in_word = true;
                i += 1;
                while let Some(&q) = chars.get(i) {
                    i += 1;
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while let Some(&q) = chars.get(i) {
                    match q {
                        '"' => {
                            i += 1;
                            break;
                        }
                        '\\' if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`' | '\n')) => {
                            if let Some(&next) = chars.get(i + 1) {
                                if next != '\n' {
                                    word.push(next);
                                }
                            }
                            i += 2;
                        }
                        '$' if chars.get(i + 1) == Some(&'(') => {
                            let (inner, end) = balanced(&chars, i + 2);
                            substitutions.push(inner.clone());
                            word.push_str("$(");
                            word.push_str(&inner);
                            word.push(')');
                            i = end;
                        }
                        '`' => {
                            let (inner, end) = backquoted(&chars, i + 1);
                            substitutions.push(inner);
                            i = end;
                        }
                        other => {
                            word.push(other);
                            i += 1;
                        }
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(&next) => word.push(next),
                    None => {}
                }
                i += 2;
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                in_word = true;
                let (inner, end) = balanced(&chars, i + 2);
                substitutions.push(inner.clone());
                word.push_str("$(");
                word.push_str(&inner);
                word.push(')');
                i = end;
            }
            '`' => {
                in_word = true;
                let (inner, end) = backquoted(&chars, i + 1);
                substitutions.push(inner);
                i = end;
            }
            other => {
                in_word = true;
                word.push(other);
                i += 1;
            }
        }
    }
    flush(&mut word, &mut in_word, &mut tokens);
    Lexed {
        tokens,
        substitutions,
    }
}

fn next_is_blank(chars: &[char], i: usize) -> bool {
    chars
        .get(i + 1)
        .is_none_or(|c| c.is_whitespace() || *c == ';')
}

/// The text up to the `)` that closes a `$(` opened before `start`, and the index after it.
fn balanced(chars: &[char], start: usize) -> (String, usize) {
    let mut depth = 1usize;
    let mut i = start;
    let mut quote: Option<char> = None;
    while let Some(&c) = chars.get(i) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => i += 1,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '\\') => i += 1,
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    let inner: String = chars.get(start..i).unwrap_or_default().iter().collect();
                    return (inner, i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    let inner: String = chars.get(start..).unwrap_or_default().iter().collect();
    (inner, chars.len())
}

/// The text up to the closing backquote, and the index after it.
fn backquoted(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    let mut inner = String::new();
    while let Some(&c) = chars.get(i) {
        match c {
            '`' => return (inner, i + 1),
            '\\' => {
                if let Some(&next) = chars.get(i + 1) {
                    inner.push(next);
                }
                i += 2;
            }
            other => {
                inner.push(other);
                i += 1;
            }
        }
    }
    (inner, chars.len())
}

struct SimpleCommand {
    words: Vec<String>,
    redirects: Vec<String>,
}

fn split_commands(tokens: &[Token]) -> Vec<SimpleCommand> {
    let mut commands = Vec::new();
    let mut current = SimpleCommand {
        words: Vec::new(),
        redirects: Vec::new(),
    };
    let mut iter = tokens.iter();
    while let Some(token) = iter.next() {
        match token {
            Token::Word(w) => current.words.push(w.clone()),
            Token::Separator => {
                let done = std::mem::replace(
                    &mut current,
                    SimpleCommand {
                        words: Vec::new(),
                        redirects: Vec::new(),
                    },
                );
                if !done.words.is_empty() || !done.redirects.is_empty() {
                    commands.push(done);
                }
            }
            Token::RedirectOut => {
                if let Some(Token::Word(target)) = iter.next() {
                    current.redirects.push(target.clone());
                }
            }
            Token::RedirectOther => {
                // The word after `<`, `<<`, `>&` is a file read, a here-doc tag or a descriptor.
                let _ = iter.next();
            }
        }
    }
    if !current.words.is_empty() || !current.redirects.is_empty() {
        commands.push(current);
    }
    commands
}

fn is_harmless_target(target: &str) -> bool {
    matches!(
        target,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
    ) || target.starts_with("/dev/fd/")
}

/// The program name of a word: `/usr/bin/git` → `git`, `git.exe` → `git`.
fn program_name(word: &str) -> String {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    base.to_ascii_lowercase()
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

fn simple_command(words: &[String], depth: usize, actions: &mut Vec<Action>) {
    let mut rest = words;
    // Leading assignments: `FOO=1 git push`.
    while rest.first().is_some_and(|w| is_assignment(w)) {
        rest = rest.get(1..).unwrap_or_default();
    }
    let Some(first) = rest.first() else {
        return;
    };
    let program = program_name(first);
    let args = rest.get(1..).unwrap_or_default();
    match program.as_str() {
        // Launchers: skip their options, then the command they run.
        "env" => {
            let mut i = 0;
            while let Some(arg) = args.get(i) {
                match arg.as_str() {
                    "--" => {
                        i += 1;
                        break;
                    }
                    "-u" | "--unset" | "-C" | "--chdir" => i += 2,
                    "-S" | "--split-string" => {
                        // `env -S 'git push origin main'`: the string is a command line.
                        if let Some(script) = args.get(i + 1) {
                            let mut line = script.clone();
                            for extra in args.get(i + 2..).unwrap_or_default() {
                                line.push(' ');
                                line.push_str(extra);
                            }
                            analyze_into(&line, depth + 1, actions);
                        }
                        return;
                    }
                    a if a.starts_with("-S") => {
                        let mut line = a.get(2..).unwrap_or_default().to_owned();
                        for extra in args.get(i + 1..).unwrap_or_default() {
                            line.push(' ');
                            line.push_str(extra);
                        }
                        analyze_into(&line, depth + 1, actions);
                        return;
                    }
                    a if a.starts_with('-') || is_assignment(a) => i += 1,
                    _ => break,
                }
            }
            simple_command(args.get(i..).unwrap_or_default(), depth, actions);
        }
        "sudo" | "doas" => {
            let with_value = [
                "-u",
                "-g",
                "-C",
                "-D",
                "-h",
                "-p",
                "-r",
                "-t",
                "-U",
                "-T",
                "--user",
                "--group",
                "--chdir",
                "--prompt",
                "--role",
                "--type",
                "--host",
                "--other-user",
                "--close-from",
                "--command-timeout",
            ];
            let i = skip_options(args, &with_value);
            simple_command(args.get(i..).unwrap_or_default(), depth, actions);
        }
        "nice" => {
            let i = skip_options(args, &["-n", "--adjustment"]);
            simple_command(args.get(i..).unwrap_or_default(), depth, actions);
        }
        "ionice" => {
            let i = skip_options(
                args,
                &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
            );
            simple_command(args.get(i..).unwrap_or_default(), depth, actions);
        }
        "timeout" => {
            let i = skip_options(args, &["-s", "-k", "--signal", "--kill-after"]);
            // Then the duration.
            simple_command(args.get(i + 1..).unwrap_or_default(), depth, actions);
        }
        "stdbuf" => {
            let i = skip_options(args, &["-i", "-o", "-e", "--input", "--output", "--error"]);
            simple_command(args.get(i..).unwrap_or_default(), depth, actions);
        }
        "chroot" => {
            let i = skip_options(args, &["--userspec", "--groups"]);
            simple_command(args.get(i + 1..).unwrap_or_default(), depth, actions);
        }
        "nohup" | "time" | "command" | "builtin" | "exec" | "setsid" | "caffeinate"
        | "unbuffer" | "torsocks" | "proxychains" | "proxychains4" | "chronic" | "flock"
        | "watch" | "strace" | "ltrace" | "ssh-agent" => {
            let with_value = [
                "-a",
                "-n",
                "-p",
                "-o",
                "-e",
                "-s",
                "-w",
                "-x",
                "-E",
                "-c",
                "-d",
                "--interval",
            ];
            let mut i = skip_options(args, &with_value);
            if program == "flock" {
                // `flock FILE CMD`: the lock file first.
                i += 1;
            }
            simple_command(args.get(i..).unwrap_or_default(), depth, actions);
        }
        "xargs" => {
            let with_value = [
                "-a",
                "-d",
                "-E",
                "-e",
                "-I",
                "-i",
                "-L",
                "-l",
                "-n",
                "-P",
                "-s",
                "--arg-file",
                "--delimiter",
                "--eof",
                "--replace",
                "--max-lines",
                "--max-args",
                "--max-procs",
                "--max-chars",
                "--process-slot-var",
            ];
            let i = skip_options(args, &with_value);
            simple_command(args.get(i..).unwrap_or_default(), depth, actions);
        }
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "mksh" | "ash" | "busybox" | "fish" => {
            // `bash -c SCRIPT`, `bash -lc SCRIPT`, `bash -e -c SCRIPT`; `busybox sh -c`.
            if program == "busybox" {
                simple_command(args, depth, actions);
                return;
            }
            let mut i = 0;
            while let Some(arg) = args.get(i) {
                if arg == "-c"
                    || (arg.starts_with('-') && !arg.starts_with("--") && arg.contains('c'))
                {
                    if let Some(script) = args.get(i + 1) {
                        analyze_into(script, depth + 1, actions);
                    }
                    return;
                }
                if arg == "-o" || arg == "+o" || arg == "--rcfile" || arg == "--init-file" {
                    i += 2;
                } else if arg.starts_with('-') || arg.starts_with('+') {
                    i += 1;
                } else {
                    break;
                }
            }
            // A script file or stdin: what it runs cannot be seen from here.
            actions.push(Action::Other { program });
        }
        "eval" => {
            let line = args.join(" ");
            analyze_into(&line, depth + 1, actions);
        }
        "pwsh" | "powershell" => {
            let mut i = 0;
            while let Some(arg) = args.get(i) {
                let lower = arg.to_ascii_lowercase();
                if lower == "-c" || lower == "-command" {
                    let line = args.get(i + 1..).unwrap_or_default().join(" ");
                    analyze_into(&line, depth + 1, actions);
                    return;
                }
                i += 1;
            }
            actions.push(Action::Other { program });
        }
        "git" => git(args, actions),
        "curl" => curl(args, actions),
        "wget" => wget(args, actions),
        "http" | "https" | "xh" | "xhs" => httpie(&program, args, actions),
        "invoke-webrequest" | "invoke-restmethod" | "iwr" | "irm" => powershell_web(args, actions),
        "tee" => {
            for arg in args.iter().filter(|a| !a.starts_with('-')) {
                if !is_harmless_target(arg) {
                    actions.push(Action::WriteFile { path: arg.clone() });
                }
            }
        }
        _ => actions.push(Action::Other { program }),
    }
}

/// Skips a launcher's options: `--` ends them, any in `with_value` takes the next word (unless
/// written `--opt=value`), any other word starting with `-` is a flag. Returns the index of the
/// command it runs.
fn skip_options(args: &[String], with_value: &[&str]) -> usize {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            return i + 1;
        }
        if !arg.starts_with('-') || arg == "-" {
            return i;
        }
        if with_value.contains(&arg.as_str()) {
            i += 2;
        } else {
            i += 1;
        }
    }
    i
}

/// `git [-C DIR] [-c K=V] … SUBCOMMAND …`.
fn git(args: &[String], actions: &mut Vec<Action>) {
    let mut dir: Option<String> = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        match arg.as_str() {
            "-C" => {
                if let Some(d) = args.get(i + 1) {
                    dir = Some(match dir {
                        Some(prev) if !d.starts_with('/') => format!("{prev}/{d}"),
                        _ => d.clone(),
                    });
                }
                i += 2;
            }
            "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" | "--config-env" => {
                i += 2
            }
            a if a.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let Some(sub) = args.get(i) else {
        actions.push(Action::Other {
            program: "git".into(),
        });
        return;
    };
    if sub != "push" {
        actions.push(Action::Other {
            program: "git".into(),
        });
        return;
    }
    let mut push = GitPush {
        dir,
        ..GitPush::default()
    };
    let mut positional = Vec::new();
    let mut j = i + 1;
    let mut options_done = false;
    while let Some(arg) = args.get(j) {
        j += 1;
        if options_done || !arg.starts_with('-') || arg == "-" {
            positional.push(arg.clone());
            continue;
        }
        match arg.as_str() {
            "--" => options_done = true,
            "-o" | "--push-option" => {
                if let Some(value) = args.get(j) {
                    push.push_options.push(value.clone());
                }
                j += 1;
            }
            "--repo" | "--receive-pack" | "--exec" => {
                if arg == "--repo" {
                    push.remote = args.get(j).cloned();
                }
                j += 1;
            }
            "--all" | "--mirror" | "--tags" | "--branches" => push.everything = true,
            "-d" | "--delete" => push.delete = true,
            "-f" | "--force" | "--force-with-lease" | "--force-if-includes" => push.force = true,
            a if a.starts_with("--push-option=") => {
                push.push_options
                    .push(a.trim_start_matches("--push-option=").to_owned());
            }
            a if a.starts_with("--repo=") => {
                push.remote = Some(a.trim_start_matches("--repo=").to_owned());
            }
            a if a.starts_with("--force-with-lease=") => push.force = true,
            a if a.starts_with("-o") && a.len() > 2 => {
                push.push_options
                    .push(a.get(2..).unwrap_or_default().to_owned());
            }
            a if !a.starts_with("--") => {
                // Clustered short flags: `-fu`.
                if a.contains('f') {
                    push.force = true;
                }
                if a.contains('d') {
                    push.delete = true;
                }
            }
            _ => {}
        }
    }
    let mut positional = positional.into_iter();
    if push.remote.is_none() {
        push.remote = positional.next();
    }
    push.refspecs = positional.collect();
    if push.refspecs.iter().any(|r| r.starts_with('+')) {
        push.force = true;
    }
    actions.push(Action::GitPush(push));
}

/// Options of curl that take a value, and which of them carry data sent out.
const CURL_VALUE: &[&str] = &[
    "-A",
    "-b",
    "-c",
    "-C",
    "-d",
    "-D",
    "-e",
    "-E",
    "-F",
    "-H",
    "-K",
    "-m",
    "-o",
    "-P",
    "-Q",
    "-r",
    "-T",
    "-u",
    "-U",
    "-w",
    "-x",
    "-X",
    "-y",
    "-Y",
    "-z",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-ascii",
    "--data-urlencode",
    "--json",
    "--form",
    "--form-string",
    "--header",
    "--user-agent",
    "--referer",
    "--output",
    "--user",
    "--proxy",
    "--request",
    "--cookie",
    "--cookie-jar",
    "--config",
    "--max-time",
    "--connect-timeout",
    "--upload-file",
    "--write-out",
    "--retry",
    "--resolve",
    "--connect-to",
    "--cacert",
    "--cert",
    "--key",
    "--output-dir",
    "--url-query",
    "--variable",
    "--expand-data",
    "--oauth2-bearer",
    "--aws-sigv4",
    "--limit-rate",
    "--max-filesize",
    "--proxy-user",
    "--range",
    "--trace",
    "--trace-ascii",
    "--dump-header",
    "--interface",
    "--dns-servers",
];
const CURL_DATA: &[&str] = &[
    "-d",
    "-F",
    "-T",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-ascii",
    "--data-urlencode",
    "--json",
    "--form",
    "--form-string",
    "--upload-file",
    "-H",
    "--header",
    "--url-query",
    "-u",
    "--user",
];

fn curl(args: &[String], actions: &mut Vec<Action>) {
    let mut urls = Vec::new();
    let mut payload = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg == "--url" {
            if let Some(url) = args.get(i) {
                urls.push(url.clone());
            }
            i += 1;
            continue;
        }
        if let Some(url) = arg.strip_prefix("--url=") {
            urls.push(url.to_owned());
            continue;
        }
        if let Some((name, value)) = arg.split_once('=').filter(|(n, _)| n.starts_with("--")) {
            if CURL_DATA.contains(&name) {
                payload.push(value.to_owned());
            }
            continue;
        }
        if CURL_VALUE.contains(&arg.as_str()) {
            if let Some(value) = args.get(i) {
                if CURL_DATA.contains(&arg.as_str()) {
                    payload.push(value.clone());
                }
            }
            i += 1;
            continue;
        }
        // `-dvalue`, `-HX: y` glued to a short option.
        if arg.starts_with('-') && !arg.starts_with("--") && arg.len() > 2 {
            let short: String = arg.chars().take(2).collect();
            if CURL_DATA.contains(&short.as_str()) {
                payload.push(arg.chars().skip(2).collect());
            }
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        urls.push(arg.clone());
    }
    net_actions(urls, payload, actions);
}

fn wget(args: &[String], actions: &mut Vec<Action>) {
    let value = [
        "-O",
        "-o",
        "-a",
        "-e",
        "-i",
        "-P",
        "-t",
        "-T",
        "-U",
        "-w",
        "-Q",
        "-l",
        "-A",
        "-R",
        "-D",
        "-X",
        "-I",
        "--header",
        "--user-agent",
        "--post-data",
        "--post-file",
        "--body-data",
        "--body-file",
        "--method",
        "--output-document",
        "--user",
        "--password",
        "--tries",
        "--timeout",
    ];
    let data = [
        "--post-data",
        "--post-file",
        "--body-data",
        "--body-file",
        "--header",
        "--password",
    ];
    let mut urls = Vec::new();
    let mut payload = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if let Some((name, v)) = arg.split_once('=').filter(|(n, _)| n.starts_with("--")) {
            if data.contains(&name) {
                payload.push(v.to_owned());
            }
            continue;
        }
        if value.contains(&arg.as_str()) {
            if let Some(v) = args.get(i) {
                if data.contains(&arg.as_str()) {
                    payload.push(v.clone());
                }
            }
            i += 1;
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        urls.push(arg.clone());
    }
    net_actions(urls, payload, actions);
}

/// HTTPie and xh: `http [METHOD] URL [ITEM…]`; items (`a=b`, `a:=1`, `H:v`) are data sent.
fn httpie(program: &str, args: &[String], actions: &mut Vec<Action>) {
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    let mut positional = args.iter().filter(|a| !a.starts_with('-'));
    let mut first = positional.next();
    if first.is_some_and(|m| methods.contains(&m.to_ascii_uppercase().as_str())) {
        first = positional.next();
    }
    let Some(url) = first else {
        actions.push(Action::Other {
            program: program.to_owned(),
        });
        return;
    };
    let url = if url.starts_with(':') {
        format!("http://localhost{url}")
    } else {
        url.clone()
    };
    let payload: Vec<String> = positional.cloned().collect();
    net_actions(vec![url], payload, actions);
}

fn powershell_web(args: &[String], actions: &mut Vec<Action>) {
    let mut urls = Vec::new();
    let mut payload = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let lower = arg.to_ascii_lowercase();
        if lower == "-uri" {
            if let Some(u) = args.get(i) {
                urls.push(u.clone());
            }
            i += 1;
        } else if lower == "-body" || lower == "-headers" {
            if let Some(b) = args.get(i) {
                payload.push(b.clone());
            }
            i += 1;
        } else if lower.starts_with('-') {
            i += 1;
        } else {
            urls.push(arg.clone());
        }
    }
    net_actions(urls, payload, actions);
}

fn net_actions(urls: Vec<String>, payload: Vec<String>, actions: &mut Vec<Action>) {
    let payload = (!payload.is_empty()).then(|| payload.join("\n"));
    if urls.is_empty() {
        // A client with no URL we can see (a config file, stdin): still a shell.exec.
        actions.push(Action::Other {
            program: "curl".into(),
        });
    }
    for url in urls {
        actions.push(Action::Net {
            url,
            payload: payload.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushes(line: &str) -> Vec<GitPush> {
        analyze(line)
            .into_iter()
            .filter_map(|a| match a {
                Action::GitPush(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    #[track_caller]
    fn one_push(line: &str) -> GitPush {
        let found = pushes(line);
        assert_eq!(found.len(), 1, "{line}: {:?}", analyze(line));
        found.into_iter().next().unwrap_or_default()
    }

    #[test]
    fn plain_git_push() {
        let p = one_push("git push origin main");
        assert_eq!(p.remote.as_deref(), Some("origin"));
        assert_eq!(p.refspecs, ["main"]);
        assert_eq!(one_push("git push").remote, None);
    }

    #[test]
    fn wrappers_do_not_hide_git_push() {
        for line in [
            "env FOO=1 sh -c \"git push origin main\"",
            "FOO=1 git push origin main",
            "sudo -u deploy git push origin main",
            "nice -n 10 git push origin main",
            "timeout -s KILL 30 git push origin main",
            "nohup git push origin main &",
            "bash -lc 'cd repo && git push origin main'",
            "echo main | xargs -n1 git push origin",
            "/usr/bin/git -C repo push origin main",
            "eval 'git push origin main'",
            "env -S 'git push origin main'",
            "true && (git push origin main)",
            "echo $(git push origin main)",
            "echo `git push origin main`",
            "sh -c \"bash -c 'git push origin main'\"",
            "command git push origin main",
            "stdbuf -o0 ionice -c3 git push origin main",
            "git -c core.x=y push origin main; echo done",
            "g\\it push origin main",
            "'git' \"push\" origin main",
        ] {
            let p = one_push(line);
            assert_eq!(p.remote.as_deref(), Some("origin"), "{line}");
        }
    }

    #[test]
    fn push_flags_and_refspecs() {
        let p = one_push("git push -f -o ci.skip --push-option=x origin HEAD:release/1.0 +dev");
        assert!(p.force);
        assert_eq!(p.push_options, ["ci.skip", "x"]);
        assert_eq!(
            p.ref_pairs(),
            [
                ("HEAD".to_owned(), "release/1.0".to_owned()),
                ("dev".to_owned(), "dev".to_owned())
            ]
        );
        assert!(one_push("git push --all origin").everything);
        assert!(one_push("git push origin --delete old").delete);
        assert_eq!(one_push("git -C a -C b push").dir.as_deref(), Some("a/b"));
    }

    #[test]
    fn curl_and_wget_are_net_requests_with_their_data() {
        let actions = analyze("curl -s -H 'Authorization: x' -d @body.json https://api.example/v1");
        assert_eq!(
            actions,
            [Action::Net {
                url: "https://api.example/v1".into(),
                payload: Some("Authorization: x\n@body.json".into())
            }]
        );
        assert!(matches!(
            analyze("sudo wget -q -O- --post-data=a=b http://x.example/").first(),
            Some(Action::Net { url, payload: Some(p) }) if url == "http://x.example/" && p == "a=b"
        ));
        assert!(matches!(
            analyze("curl --url https://u.example").first(),
            Some(Action::Net { url, .. }) if url == "https://u.example"
        ));
    }

    #[test]
    fn redirections_into_files_are_writes() {
        let actions = analyze("echo '{}' > .claude/settings.json 2>/dev/null");
        assert!(actions.contains(&Action::WriteFile {
            path: ".claude/settings.json".into()
        }));
        assert!(!actions
            .iter()
            .any(|a| matches!(a, Action::WriteFile { path } if path == "/dev/null")));
        let actions = analyze("cat x | tee -a CLAUDE.md >&2");
        assert!(actions.contains(&Action::WriteFile {
            path: "CLAUDE.md".into()
        }));
        assert!(analyze("ls 2>&1")
            .iter()
            .all(|a| !matches!(a, Action::WriteFile { .. })));
        assert!(analyze("echo x &> out.log").contains(&Action::WriteFile {
            path: "out.log".into()
        }));
    }

    #[test]
    fn other_commands_are_named() {
        assert_eq!(
            analyze("ls -la # git push origin main"),
            [Action::Other {
                program: "ls".into()
            }]
        );
        assert!(pushes("echo 'git push origin main'").is_empty());
        assert!(pushes("git status").is_empty());
    }

    #[test]
    fn deep_nesting_is_cut_off_not_overflowed() {
        let line = format!("{}git push origin main", "eval ".repeat(50));
        let actions = analyze(&line);
        assert_eq!(
            actions,
            [Action::Other {
                program: "sh".into()
            }]
        );
    }
}
