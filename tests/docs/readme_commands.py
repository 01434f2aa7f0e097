#!/usr/bin/env python3
"""Checks that README.md's commands are true to the program and the repository.

  readme_commands.py CLI README            check mode (fast, no computation)
  readme_commands.py CLI README --run      also runs the blocks marked `<!-- readme-test: run -->`

Check mode, for every ```sh block and every inline `cryptounet …` / `make …` span:
  * `cryptounet SUB…` (or build/apps/cryptounet): the subcommand exists (`SUB --help` exits 0), every
    option on the line is in its --help, and the options that take a value get one;
  * `make TARGET`: TARGET is a rule of the Makefile; any other program must be a repository script
    or on PATH;
  * every argument that names a file (a path with '/' or a known extension) exists in the repository,
    was written by an earlier README command (-o/--out/--overlay/…), or lies under a folder that the
    build or `make data` makes (build/, data/, out/);
  * every fenced block says its language, and no link or path leads outside the repository (../);
  * the README's package bullets (- **build**, - **test**, - **train**) name every package that
    `scripts/install-deps.sh --list SET` installs.
Run mode: each marked block runs line by line in a scratch folder (models/, tests/fixtures/ linked
in, `cryptounet` on PATH). The marker may add options to a subcommand, e.g.
`<!-- readme-test: run plan=--insecure-test-params=13 -->`: the README says so beside the block.
A line whose input is made by `make data` (data/…) is skipped when that folder is absent.
Exit status 0 when everything holds; otherwise every failure is printed, one per line.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

FILE_EXT = (".onnx", ".png", ".nii", ".nii.gz", ".dcm", ".tif", ".tiff", ".cup", ".ct", ".keys",
            ".json", ".npy", ".sh", ".py", ".cpp", ".h", ".md", ".key", ".pem")
GENERATED = ("build/", "data/", "out/")
OUTPUT_OPTS = {"-o", "--out", "--overlay", "--probabilities", "--logits", "--data-dir", "--key-dir",
               "--cache-dir"}
HELP_CACHE = {}


def fail(problems, where, msg):
    problems.append(f"{where}: {msg}")


def blocks(text):
    """(line number, language, body, marker) for every fenced block."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if m:
            lang, start = m.group(1), i + 1
            marker = ""
            if i > 0 and lines[i - 1].strip().startswith("<!-- readme-test:"):
                marker = lines[i - 1].strip()[len("<!-- readme-test:"):].rstrip("->").strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append((start, lang, "\n".join(lines[i + 1:j]), marker))
            i = j + 1
        else:
            i += 1
    return out


def command_lines(body):
    """Shell lines of a block: comments dropped, backslash continuations joined."""
    out, cur = [], ""
    for raw in body.split("\n"):
        line = raw.rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            out.append(cur)
        cur = ""
    return out


def split(line):
    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def cli_help(cli, path):
    key = tuple(path)
    if key not in HELP_CACHE:
        r = subprocess.run([cli, *path, "--help"], capture_output=True, text=True, timeout=30)
        HELP_CACHE[key] = (r.returncode, r.stdout)
    return HELP_CACHE[key]


def help_options(help_text):
    """{option name: takes a value} from CLI11's help, and whether it has subcommands."""
    opts = {}
    for line in help_text.split("\n"):
        # `--opt VALUE` takes a value; a flag, or `--opt [=VALUE]` (an optional value after '='), does not.
        m = re.match(r"^  ((?:-{1,2}[A-Za-z0-9][\w-]*,?)+)( [A-Z]+)?", line)
        if not m:
            continue
        takes = m.group(2) is not None
        for name in m.group(1).split(","):
            if name:
                opts[name] = takes
    return opts, "\nSubcommands:" in help_text


def looks_like_file(tok):
    if "://" in tok or tok.startswith("-") or "=" in tok or "{" in tok or "*" in tok:
        return False
    return "/" in tok or tok.endswith(FILE_EXT)


class Checker:
    def __init__(self, cli, repo):
        self.cli, self.repo = cli, repo
        self.written = set()  # paths earlier README commands write
        self.makefile = open(os.path.join(repo, "Makefile")).read()

    def file_ok(self, tok):
        p = tok.rstrip("/")
        if p.startswith("./"):
            p = p[2:]
        if os.path.isabs(p):
            return True  # outside the repository (e.g. a Debian package's data): not ours to check
        if os.path.exists(os.path.join(self.repo, p)) or p.startswith(GENERATED):
            return True
        return any(p == w or p.startswith(w.rstrip("/") + "/") for w in self.written)

    def check_line(self, line, where, problems, inline=False):
        try:
            words = split(line)
        except ValueError as e:
            fail(problems, where, f"cannot split '{line}': {e}")
            return
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value prefixes
            words = words[1:]
        # Wrappers that run another command.
        while words and words[0] in ("/usr/bin/time", "time", "taskset", "sudo", "env"):
            prog = words.pop(0)
            if prog in ("/usr/bin/time", "time"):
                while words and words[0].startswith("-"):
                    words.pop(0)
            elif prog == "taskset":
                while words and words[0].startswith("-"):
                    words = words[2:] if words[0] in ("-c", "--cpu-list") else words[1:]
        if not words:
            return
        prog, args = words[0], words[1:]
        if prog in ("cryptounet", "build/apps/cryptounet", "./build/apps/cryptounet"):
            self.check_cli(args, where, problems, inline)
        elif prog == "make":
            for a in args:
                if "=" in a or a.startswith("-"):
                    continue
                if not re.search(rf"^{re.escape(a)}\s*:", self.makefile, re.M):
                    fail(problems, where, f"`make {a}`: no such target in the Makefile")
        else:
            if "/" in prog:
                if not self.file_ok(prog):
                    fail(problems, where, f"`{prog}` does not exist")
            elif shutil.which(prog) is None:
                fail(problems, where, f"`{prog}` is neither a repository script nor on PATH")
            self.check_files(args, set(), where, problems)

    def check_files(self, tokens, outputs, where, problems):
        for t in tokens:
            if t in outputs or not looks_like_file(t):
                continue
            if not self.file_ok(t):
                fail(problems, where, f"file '{t}' does not exist (and no earlier README command makes it)")

    def check_cli(self, args, where, problems, inline):
        """inline: a span in the prose, which may name an option without its value."""
        path = []
        rest = list(args)
        while rest and not rest[0].startswith("-"):
            rc, text = cli_help(self.cli, path + [rest[0]])
            if rc != 0:
                break
            path.append(rest.pop(0))
            _, has_sub = help_options(text)
            if not has_sub:
                break
        if not path:
            if rest and rest[0] not in ("--help", "-h", "--version", "COMMAND"):
                fail(problems, where, f"`cryptounet {rest[0]}`: no such command")
            return
        rc, text = cli_help(self.cli, path)
        opts, _ = help_options(text)
        outputs, inputs = set(), []
        i = 0
        while i < len(rest):
            t = rest[i]
            if t.startswith("-") and len(t) > 1 and not re.match(r"^-\d", t):
                name, _, attached = t.partition("=")
                name = name.split("[")[0]  # `--opt[=VALUE]` in prose
                if name not in opts:
                    fail(problems, where, f"`cryptounet {' '.join(path)}` has no option {name}")
                    i += 1
                    continue
                if opts[name] and not attached:
                    if i + 1 >= len(rest):
                        if not inline:
                            fail(problems, where, f"{name} needs a value")
                        break
                    value = rest[i + 1]
                    if name in OUTPUT_OPTS:
                        outputs.add(value)
                    else:
                        inputs.append(value)
                    i += 2
                    continue
                i += 1
                continue
            if t.isupper() or t in ("…", "...") or t.endswith("…"):  # placeholders: IMAGE…, OUT
                i += 1
                continue
            inputs.append(t)
            i += 1
        self.check_files(inputs, outputs, where, problems)
        self.written |= {o.rstrip("/") for o in outputs}


def check_links(text, repo, problems):
    for n, line in enumerate(text.split("\n"), 1):
        if re.search(r"(^|[\s(`'\"])\.\./", line):
            fail(problems, f"README.md:{n}", "points outside the repository (../)")
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"^[a-z]+://", target) or target.startswith("#"):
                continue
            if not os.path.exists(os.path.join(repo, target.split("#")[0])):
                fail(problems, f"README.md:{n}", f"link to '{target}', which does not exist")


def check_package_sets(text, repo, problems):
    """The README's bullet of each install-deps set names exactly the packages the script installs."""
    script = os.path.join(repo, "scripts", "install-deps.sh")
    listed = {}
    for name in ("build", "test", "train"):
        r = subprocess.run(["bash", script, "--list", name], capture_output=True, text=True)
        listed[name] = r.stdout.split()
        m = re.search(r"^- \*\*" + name + r"\*\*(.*?)(?=^\S|^- \*\*|\Z)", text, re.M | re.S)
        if not m:
            fail(problems, "README.md", f"no '- **{name}**' bullet lists the {name} packages")
            continue
        words = set(re.findall(r"[a-z0-9][a-z0-9.+-]*[a-z0-9]", m.group(1)))
        own = [p for p in listed[name] if name == "build" or p not in listed["build"]]
        for p in own:
            if p not in words:
                fail(problems, "README.md", f"the {name} set installs {p}, which its bullet does not name")


def run_block(checker, body, marker, start, problems, cli, repo):
    extra = {}
    for part in re.findall(r"(\w[\w-]*)=(.*?)(?=\s+\w[\w-]*=|$)", marker[len("run"):].strip()):
        extra[part[0]] = part[1].strip()
    with tempfile.TemporaryDirectory(prefix="readme-run-") as tmp:
        bindir = os.path.join(tmp, ".bin")
        os.makedirs(bindir)
        os.symlink(os.path.abspath(cli), os.path.join(bindir, "cryptounet"))
        for d in ("models", "tests", "examples", "scripts", "train"):
            os.symlink(os.path.join(repo, d), os.path.join(tmp, d))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
        for k, line in enumerate(command_lines(body)):
            where = f"README.md:{start + k + 1}"
            words = split(line)
            if words and words[0] == "cryptounet" and len(words) > 1 and words[1] in extra:
                words += shlex.split(extra[words[1]])
            needs = [w for w in words if w.startswith("data/")]
            if any(not os.path.exists(os.path.join(repo, w.split(",")[0])) for w in needs):
                print(f"{where}: skipped (needs `make data`): {line}")
                continue
            for w in needs:
                if not os.path.exists(os.path.join(tmp, "data")):
                    os.symlink(os.path.join(repo, "data"), os.path.join(tmp, "data"))
            r = subprocess.run(words, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
            print(f"{where}: exit {r.returncode}: {' '.join(words)}")
            if r.returncode != 0:
                fail(problems, where, f"`{' '.join(words)}` exited {r.returncode}:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
                return


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    cli, readme = sys.argv[1], sys.argv[2]
    run = "--run" in sys.argv[3:]
    repo = os.path.dirname(os.path.abspath(readme))
    text = open(readme, encoding="utf-8").read()
    problems = []
    checker = Checker(cli, repo)
    check_links(text, repo, problems)
    check_package_sets(text, repo, problems)
    fenced_lines = set()
    ran = 0
    for start, lang, body, marker in blocks(text):
        fenced_lines.update(range(start, start + body.count("\n") + 3))  # opening fence .. closing fence
        if not lang:
            fail(problems, f"README.md:{start}", "a fenced block without a language (```sh, ```text, ```cpp)")
        if lang not in ("sh", "bash", "shell"):
            continue
        for k, line in enumerate(command_lines(body)):
            checker.check_line(line, f"README.md:{start + k + 1}", problems)
        if run and marker.startswith("run"):
            run_block(checker, body, marker, start, problems, cli, repo)
            ran += 1
    # Inline commands and paths in the prose.
    _, root_text = cli_help(cli, [])
    subcommands = set(re.findall(r"^  ([a-z][\w-]*) ", root_text.split("Subcommands:")[-1], re.M))
    prose = "\n".join("" if n in fenced_lines else line for n, line in enumerate(text.split("\n"), 1))
    for m in re.finditer(r"`([^`]+)`", prose):
        n = prose.count("\n", 0, m.start()) + 1
        if "\n\n" in m.group(1):
            continue
        s = " ".join(m.group(1).split())  # a span may wrap onto the next line
        first = s.split(" ")[0]
        if "|" in s or "[" in s or "<" in s or "…" in s:
            continue
        if re.match(r"^((/usr/bin/time -v|taskset -c \d+) )*(build/apps/)?cryptounet ", s) or \
                re.match(r"^make [a-z]", s) or (first in ("scripts", "train") and " " in s):
            checker.check_line(s, f"README.md:{n}", problems, inline=True)
        elif first in subcommands and " -" in s:
            checker.check_line("cryptounet " + s, f"README.md:{n}", problems, inline=True)
        elif "/" in s and " " not in s and not s.startswith(("~", "cryptounet/", "http", "/v1/")) \
                and looks_like_file(s) and os.path.exists(os.path.join(repo, s.split("/")[0])):
            # A path from the repository's root (a path relative to a folder named beside it,
            # such as `plan/` under `src/he`, is left alone).
            if not checker.file_ok(s) and not os.path.exists(os.path.join(repo, "include", s)):
                fail(problems, f"README.md:{n}", f"file '{s}' does not exist")
    if run and ran == 0:
        fail(problems, "README.md", "no block is marked `<!-- readme-test: run -->`")
    for p in problems:
        print("FAIL", p)
    print(f"readme_commands: {len(problems)} problem(s)" + (f", {ran} block(s) run" if run else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
