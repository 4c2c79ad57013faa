//! The shape of `src/`, checked on every test run (docs/architecture.md):
//!
//! - no import circle at any level of the module tree;
//! - no source file over 1,000 lines;
//! - no function over 100 lines, unless the lines above it say it is a
//!   flat table (a match with one arm per keyword, a list of literals);
//! - every file opens with a `//!` comment that says what it owns.
//!
//! A circle is looked for among siblings: under each module, every child
//! module counts as one node with all of its subtree, and the module's own
//! file (`mod.rs`) as another. An edge is a path in a `use` item or in code
//! (`crate::…`, `super::…`, `self::…`, or a child module's name), with
//! `#[cfg(test)]` code left out; a path through a re-export is followed to
//! the file that defines the item, so a `mod.rs` that only re-exports its
//! children is no circle. Any file-level circle shows up as a circle at the
//! level of the files' deepest common module, so this check is the stricter
//! one. The scanner reads Rust well enough for this tree (comments, strings,
//! raw strings, char literals and lifetimes are told apart); it is not a
//! compiler, and the planted-defect tests at the end keep it honest.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 1000;
const MAX_FN_LINES: usize = 100;
/// The words a long function's comment must carry to be let through.
const FLAT_TABLE: &str = "flat table";

// ---------------------------------------------------------------------------
// Reading the tree

/// One `.rs` file of the crate, found by following `mod` declarations.
struct SourceFile {
    /// Module path from the crate root (`["check", "engine"]`).
    module: Vec<String>,
    /// Path relative to the source root, for messages.
    rel: String,
    raw: String,
    /// `raw` with comments, strings and chars blanked (lines kept).
    code: String,
    /// Declared under `#[cfg(test)]`: not part of the architecture.
    test_only: bool,
}

fn read_tree(root: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    let mut todo = vec![(root.join("lib.rs"), Vec::<String>::new(), false)];
    while let Some((path, module, test_only)) = todo.pop() {
        let raw = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let code = strip(&raw);
        let dir = if path.ends_with("lib.rs") || path.ends_with("mod.rs") {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path.with_extension("")
        };
        for (name, under_test) in mod_declarations(&code) {
            let flat = dir.join(format!("{name}.rs"));
            let nested = dir.join(&name).join("mod.rs");
            let child = if flat.exists() { flat } else { nested };
            let mut m = module.clone();
            m.push(name);
            todo.push((child, m, test_only || under_test));
        }
        let rel = path
            .strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string());
        files.push(SourceFile {
            module,
            rel,
            raw,
            code,
            test_only,
        });
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    files
}

/// Blank comments, string and char literals (keeping newlines), so that
/// braces, `fn` and paths are only ever read from code.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, s: &[u8]| {
        out.extend(s.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
    };
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let prev_ident = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (1, 2);
            while j < rest.len() && depth > 0 {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if !prev_ident && raw_string_len(rest).is_some() {
            let len = raw_string_len(rest).unwrap_or(1);
            out.extend_from_slice(b"\"\"");
            blank(&mut out, &rest[2.min(len)..len]);
            i += len;
        } else if rest[0] == b'"' || (!prev_ident && rest.starts_with(b"b\"")) {
            let mut j = if rest[0] == b'"' { 1 } else { 2 };
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let len = (j + 1).min(rest.len());
            out.extend_from_slice(b"\"\"");
            blank(&mut out, &rest[2.min(len)..len]);
            i += len;
        } else if rest[0] == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|&c| c == b'\'').map(|p| p + 3)
            } else {
                let ch = std::str::from_utf8(&rest[1..rest.len().min(5)])
                    .ok()
                    .or_else(|| std::str::from_utf8(&rest[1..rest.len().min(2)]).ok())
                    .and_then(|s| s.chars().next());
                ch.map(char::len_utf8)
                    .filter(|&n| rest.get(1 + n) == Some(&b'\''))
                    .map(|n| n + 2)
            };
            match len {
                Some(n) => {
                    out.extend_from_slice(b"' '");
                    blank(&mut out, &rest[3.min(n)..n]);
                    i += n;
                }
                None => {
                    out.push(b'\'');
                    i += 1;
                }
            }
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    let mut code = String::from_utf8_lossy(&out).into_owned();
    blank_test_items(&mut code);
    code
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the
/// start of `s`, if there is one.
fn raw_string_len(s: &[u8]) -> Option<usize> {
    let start = if s.starts_with(b"br") {
        2
    } else if s.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = s[start..].iter().take_while(|&&c| c == b'#').count();
    if s.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let body = start + hashes + 1;
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    s[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map(|p| body + p + close.len())
}

/// Blank every item under `#[cfg(test)]` (test modules, test helpers), so
/// that what tests import is not read as architecture. `mod x;` lines are
/// kept: [`mod_declarations`] marks those files as test-only.
fn blank_test_items(code: &mut String) {
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]").map(|p| p + from) {
        let item = at + "#[cfg(test)]".len();
        let b = code.as_bytes();
        let mut j = item;
        let mut end = None;
        while j < b.len() {
            match b[j] {
                b';' => {
                    end = None;
                    break;
                }
                b'{' => {
                    end = matching_brace(b, j);
                    break;
                }
                _ => j += 1,
            }
        }
        match end {
            Some(e) => {
                let blanked: String = code[item..=e]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' })
                    .collect();
                code.replace_range(item..=e, &blanked);
                from = e + 1;
            }
            None => from = j.max(item),
        }
    }
}

fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// `mod name;` declarations, and whether each is under `#[cfg(test)]`.
fn mod_declarations(code: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut test_attr = false;
    for line in code.lines() {
        let t = line.trim();
        if t.starts_with("#[cfg(test)]") {
            test_attr = true;
        }
        let decl = t
            .trim_start_matches("#[cfg(test)]")
            .trim()
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ");
        if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            out.push((name.trim().to_string(), test_attr));
        }
        if !t.is_empty() && !t.starts_with("#[") {
            test_attr = false;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The import graph

/// A `use` of one file: the name it binds, and the path it stands for.
struct Import {
    name: String,
    path: Vec<String>,
    glob: bool,
}

/// Each `use` statement of `code`, expanded into one path per leaf, with
/// the statement's line.
fn use_statements(code: &str) -> Vec<(usize, Vec<Import>)> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while let Some(p) = code[i..].find("use ").map(|p| p + i) {
        let boundary = p == 0 || !(b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_');
        let end = code[p..].find(';').map(|e| e + p);
        match end {
            Some(e) if boundary => {
                let line = code[..p].matches('\n').count() + 1;
                let tree: String = code[p + 4..e]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut imports = Vec::new();
                expand_use(&[], &tree, &mut imports);
                out.push((line, imports));
                i = e + 1;
            }
            _ => i = p + 4,
        }
    }
    out
}

fn expand_use(prefix: &[String], tree: &str, out: &mut Vec<Import>) {
    let mut depth = 0;
    let mut start = 0;
    let mut items = Vec::new();
    for (k, c) in tree.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&tree[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    items.push(&tree[start..]);
    for item in items.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(open) = item.find('{') {
            let head: Vec<String> = segments(&item[..open]);
            let body = item[open + 1..].trim_end().trim_end_matches('}');
            let mut p = prefix.to_vec();
            p.extend(head);
            expand_use(&p, body, out);
            continue;
        }
        let (item, alias) = match item.split_once(" as ") {
            Some((i, a)) => (i, Some(a.trim().to_string())),
            None => (item, None),
        };
        let mut path = prefix.to_vec();
        path.extend(segments(item));
        let glob = path.last().is_some_and(|s| s == "*");
        if glob {
            path.pop();
        }
        if path.last().is_some_and(|s| s == "self") {
            path.pop();
        }
        let name = alias.or_else(|| path.last().cloned()).unwrap_or_default();
        out.push(Import { name, path, glob });
    }
}

fn segments(s: &str) -> Vec<String> {
    s.split("::")
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Paths written in code (outside `use`): runs of `ident::ident…`.
fn code_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    // Blank the use statements: their paths are read by use_statements.
    let mut without_uses = code.to_string();
    let mut i = 0;
    while let Some(p) = without_uses[i..].find("use ").map(|p| p + i) {
        let b = without_uses.as_bytes();
        let boundary = p == 0 || !(b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_');
        match without_uses[p..].find(';').map(|e| e + p) {
            Some(e) if boundary => {
                let blanked: String = without_uses[p..e]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' })
                    .collect();
                without_uses.replace_range(p..e, &blanked);
                i = e;
            }
            _ => i = p + 4,
        }
    }
    let b = without_uses.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut k = 0;
    while k < b.len() {
        if ident(b[k]) && (k == 0 || !(ident(b[k - 1]) || b[k - 1] == b':')) {
            let start = k;
            let mut segs = Vec::new();
            let mut s = k;
            loop {
                let mut e = s;
                while e < b.len() && ident(b[e]) {
                    e += 1;
                }
                segs.push(without_uses[s..e].to_string());
                if without_uses[e..].starts_with("::") && b.get(e + 2).is_some_and(|&c| ident(c)) {
                    s = e + 2;
                } else {
                    k = e;
                    break;
                }
            }
            if segs.len() > 1 {
                out.push((without_uses[..start].matches('\n').count() + 1, segs));
            }
        } else {
            k += 1;
        }
    }
    out
}

struct Graph<'a> {
    files: &'a [SourceFile],
    by_module: HashMap<Vec<String>, usize>,
    imports: Vec<Vec<Import>>,
}

impl<'a> Graph<'a> {
    fn new(files: &'a [SourceFile]) -> Self {
        let by_module = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let imports = files
            .iter()
            .map(|f| {
                use_statements(&f.code)
                    .into_iter()
                    .flat_map(|(_, i)| i)
                    .collect()
            })
            .collect();
        Graph {
            files,
            by_module,
            imports,
        }
    }

    /// The file that defines what `path`, written in file `from`, names;
    /// `None` for another crate's item or a local name.
    fn resolve(&self, from: usize, path: &[String], depth: usize) -> Option<usize> {
        let base = &self.files[from].module;
        let (mut module, rest) = match path.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &path[1..]),
            Some("self") => (base.clone(), &path[1..]),
            Some("super") => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                let keep = base.len().checked_sub(ups)?;
                (base[..keep].to_vec(), &path[ups..])
            }
            Some(first) => {
                let mut child = base.clone();
                child.push(first.to_string());
                if !self.by_module.contains_key(&child) {
                    return None;
                }
                (base.clone(), path)
            }
            None => return None,
        };
        for seg in rest {
            let mut child = module.clone();
            child.push(seg.clone());
            if self.by_module.contains_key(&child) {
                module = child;
                continue;
            }
            let file = *self.by_module.get(&module)?;
            return Some(self.follow(file, seg, depth).unwrap_or(file));
        }
        self.by_module.get(&module).copied()
    }

    /// Where `name`, used from `file`'s own scope, is defined, if `file`
    /// only imports it.
    fn follow(&self, file: usize, name: &str, depth: usize) -> Option<usize> {
        if depth > 8 {
            return None;
        }
        let imports = &self.imports[file];
        if let Some(i) = imports.iter().find(|i| !i.glob && i.name == name) {
            return self.resolve(file, &i.path, depth + 1);
        }
        let mut globs = imports.iter().filter(|i| i.glob);
        match (globs.next(), globs.next()) {
            (Some(g), None) => self.resolve(file, &g.path, depth + 1),
            _ => None,
        }
    }

    /// Every edge between two files, with the line that makes it.
    fn edges(&self) -> BTreeMap<(usize, usize), usize> {
        let mut edges = BTreeMap::new();
        for (i, f) in self.files.iter().enumerate() {
            if f.test_only {
                continue;
            }
            let mut paths: Vec<(usize, Vec<String>)> = use_statements(&f.code)
                .into_iter()
                .flat_map(|(line, imports)| imports.into_iter().map(move |i| (line, i.path)))
                .collect();
            paths.extend(code_paths(&f.code));
            for (line, path) in paths {
                if let Some(j) = self.resolve(i, &path, 0)
                    && j != i
                    && !self.files[j].test_only
                {
                    edges.entry((i, j)).or_insert(line);
                }
            }
        }
        edges
    }
}

/// A circle among the children of one module, told as the file edges that
/// make it.
fn circles(files: &[SourceFile]) -> Vec<String> {
    let graph = Graph::new(files);
    // level (a module path) -> node -> node -> an example file edge.
    type Level = BTreeMap<String, BTreeMap<String, (usize, usize, usize)>>;
    let mut levels: BTreeMap<Vec<String>, Level> = BTreeMap::new();
    for ((a, b), line) in graph.edges() {
        let (ma, mb) = (&files[a].module, &files[b].module);
        let common = ma.iter().zip(mb).take_while(|(x, y)| x == y).count();
        let node = |m: &Vec<String>| {
            m.get(common)
                .cloned()
                .unwrap_or_else(|| "(its own file)".into())
        };
        let (na, nb) = (node(ma), node(mb));
        if na != nb {
            levels
                .entry(ma[..common].to_vec())
                .or_default()
                .entry(na)
                .or_default()
                .entry(nb)
                .or_insert((a, b, line));
        }
    }
    let mut found = Vec::new();
    for (level, graph) in &levels {
        for cycle in find_cycles(graph) {
            let at = if level.is_empty() {
                "the crate root".to_string()
            } else {
                format!("crate::{}", level.join("::"))
            };
            let mut text = format!("import circle among the children of {at}:");
            for w in cycle.windows(2) {
                let (a, _, line) = graph[&w[0]][&w[1]];
                text.push_str(&format!(
                    "\n    {} -> {}  ({}:{line})",
                    w[0], w[1], files[a].rel
                ));
            }
            found.push(text);
        }
    }
    found
}

/// One cycle per strongly connected component of more than one node
/// (Tarjan), each closed (first node repeated at the end).
fn find_cycles<V>(graph: &BTreeMap<String, BTreeMap<String, V>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = graph
        .iter()
        .flat_map(|(a, out)| std::iter::once(a).chain(out.keys()))
        .collect();
    let index: HashMap<&String, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let names: Vec<&String> = nodes.into_iter().collect();
    let succ: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            graph
                .get(*n)
                .map(|out| out.keys().map(|k| index[k]).collect())
                .unwrap_or_default()
        })
        .collect();
    let sccs = Tarjan::run(&succ);
    // In each component, walk from its first node back to it (a shortest
    // path inside the component, by breadth-first search).
    sccs.iter()
        .map(|comp| {
            let inside: BTreeSet<usize> = comp.iter().copied().collect();
            let start = *comp.iter().min().unwrap_or(&0);
            let mut prev: HashMap<usize, usize> = HashMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut end = None;
            'bfs: while let Some(v) = queue.pop_front() {
                for &w in &succ[v] {
                    if !inside.contains(&w) {
                        continue;
                    }
                    if w == start {
                        end = Some(v);
                        break 'bfs;
                    }
                    if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(w) {
                        e.insert(v);
                        queue.push_back(w);
                    }
                }
            }
            let mut path = vec![start];
            let mut v = end.unwrap_or(start);
            while v != start {
                path.push(v);
                v = prev.get(&v).copied().unwrap_or(start);
            }
            path.push(start);
            let last = path.len() - 1;
            path[1..last].reverse();
            path.into_iter().map(|i| names[i].clone()).collect()
        })
        .collect()
}

/// Tarjan's strongly connected components over successor lists.
struct Tarjan<'g> {
    succ: &'g [Vec<usize>],
    index: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    found: Vec<Vec<usize>>,
}

impl<'g> Tarjan<'g> {
    /// The components of more than one node.
    fn run(succ: &'g [Vec<usize>]) -> Vec<Vec<usize>> {
        let n = succ.len();
        let mut t = Tarjan {
            succ,
            index: vec![usize::MAX; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next: 0,
            found: Vec::new(),
        };
        for v in 0..n {
            if t.index[v] == usize::MAX {
                t.visit(v);
            }
        }
        t.found
    }

    fn visit(&mut self, v: usize) {
        self.index[v] = self.next;
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.succ[v] {
            if self.index[w] == usize::MAX {
                self.visit(w);
                self.low[v] = self.low[v].min(self.low[w]);
            } else if self.on_stack[w] {
                self.low[v] = self.low[v].min(self.index[w]);
            }
        }
        if self.low[v] == self.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                self.found.push(comp);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Sizes

fn long_files(files: &[SourceFile]) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.raw.lines().count() > MAX_FILE_LINES)
        .map(|f| {
            format!(
                "{}: {} lines (at most {MAX_FILE_LINES}: split it by concern)",
                f.rel,
                f.raw.lines().count()
            )
        })
        .collect()
}

/// Functions longer than [`MAX_FN_LINES`], from the `fn` line to the
/// closing brace, whose comment does not call them a flat table.
fn long_functions(files: &[SourceFile]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let raw: Vec<&str> = f.raw.lines().collect();
        for (name, first, last) in functions(&strip_keep_tests(&f.raw)) {
            let lines = last - first + 1;
            if lines > MAX_FN_LINES && !says_flat_table(&raw, first) {
                out.push(format!(
                    "{}:{first}: fn {name} is {lines} lines (at most {MAX_FN_LINES}, \
                     or a `// {FLAT_TABLE}: why` comment above it)",
                    f.rel
                ));
            }
        }
    }
    out
}

/// [`strip`] without blanking test code: test functions are held to the
/// same length as any other.
fn strip_keep_tests(raw: &str) -> String {
    let marker = "#[cfg(test)]";
    strip(&raw.replace(marker, &" ".repeat(marker.len())))
}

/// `(name, first line, last line)` of every function with a body.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = code[i..].find("fn ").map(|p| p + i) {
        i = p + 3;
        if p > 0 && ident(b[p - 1]) {
            continue;
        }
        let name: String = code[p + 3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue; // a fn pointer type
        }
        let mut j = p + 3;
        let mut parens = 0i32;
        while j < b.len() {
            match b[j] {
                b'(' | b'[' => parens += 1,
                b')' | b']' => parens -= 1,
                b';' if parens == 0 => break,
                b'{' if parens == 0 => break,
                _ => {}
            }
            j += 1;
        }
        if b.get(j) != Some(&b'{') {
            continue; // a declaration without a body
        }
        if let Some(end) = matching_brace(b, j) {
            let first = code[..p].matches('\n').count() + 1;
            let last = code[..end].matches('\n').count() + 1;
            out.push((name, first, last));
        }
    }
    out
}

/// Whether the comment and attribute lines directly above line `first`
/// (1-based) call the function a flat table.
fn says_flat_table(raw: &[&str], first: usize) -> bool {
    raw[..first.saturating_sub(1)]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("//") || l.starts_with("#[") || l.starts_with("#!["))
        .any(|l| l.to_ascii_lowercase().contains(FLAT_TABLE))
}

fn undocumented_files(files: &[SourceFile]) -> Vec<String> {
    files
        .iter()
        .filter(|f| !f.raw.trim_start().starts_with("//!"))
        .map(|f| format!("{}: no `//!` comment saying what the file owns", f.rel))
        .collect()
}

// ---------------------------------------------------------------------------
// The checks

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn verdict(what: &str, findings: Vec<String>) {
    assert!(
        findings.is_empty(),
        "{what}:\n{}\n(see docs/architecture.md)",
        findings.join("\n")
    );
}

#[test]
fn no_import_circle_in_src() {
    let files = read_tree(&src());
    assert!(
        files.len() > 50,
        "the tree was not read: {} files",
        files.len()
    );
    verdict("import circles", circles(&files));
}

#[test]
fn no_source_file_over_a_thousand_lines() {
    verdict("files too long", long_files(&read_tree(&src())));
}

#[test]
fn no_function_over_a_hundred_lines_unless_a_flat_table() {
    verdict("functions too long", long_functions(&read_tree(&src())));
}

#[test]
fn every_file_says_what_it_owns() {
    verdict(
        "files without a top comment",
        undocumented_files(&read_tree(&src())),
    );
}

/// The layers that docs/architecture.md draws: no top-level module may
/// import from one drawn above it.
#[test]
fn the_top_level_layers_point_down() {
    let files = read_tree(&src());
    let graph = Graph::new(&files);
    // Lower number: lower layer.
    let layer = |m: &str| match m {
        "process" => 0,
        "config" | "net" => 1,
        "vrrp" | "ipvs" | "notify" | "check" | "bfd" | "bird" => 2,
        "lvs" | "control" | "snmp" => 3,
        "daemon" => 4,
        "cli" => 5,
        _ => 6,
    };
    let mut wrong = BTreeSet::new();
    for ((a, b), line) in graph.edges() {
        let (Some(ma), Some(mb)) = (files[a].module.first(), files[b].module.first()) else {
            continue;
        };
        if ma != mb && layer(ma) < layer(mb) {
            wrong.insert(format!(
                "{ma} (layer {}) imports {mb} (layer {}): {}:{line}",
                layer(ma),
                layer(mb),
                files[a].rel
            ));
        }
    }
    verdict("imports pointing up", wrong.into_iter().collect());
}

// ---------------------------------------------------------------------------
// The checker checked: planted defects must be found.

struct Planted(PathBuf);

impl Planted {
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("tandem-arch-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).expect("temp dir");
            }
            fs::write(&p, text).expect("temp file");
        }
        Planted(dir)
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_planted_circle_is_found_and_a_facade_is_not_one() {
    let tree = Planted::new(
        "circle",
        &[
            ("lib.rs", "//! root\npub mod a;\npub mod b;\npub mod c;\n"),
            // a -> b through a re-export of b's child, b -> a through code.
            ("a.rs", "//! a\nuse crate::b::Thing;\npub fn f() {}\n"),
            (
                "b/mod.rs",
                "//! b, a facade\nmod inner;\npub use inner::Thing;\n",
            ),
            (
                "b/inner.rs",
                "//! b's inner\npub struct Thing;\nfn g() { crate::a::f() }\n",
            ),
            // c's children use what c/mod.rs re-exports: no circle.
            (
                "c/mod.rs",
                "//! c\nmod x;\nmod y;\npub use x::X;\npub use y::Y;\n",
            ),
            ("c/x.rs", "//! x\npub struct X;\n"),
            (
                "c/y.rs",
                "//! y\nuse super::X; // \"crate::a\" in a comment is no edge\npub struct Y(X);\n\
                 #[cfg(test)]\nmod tests { use crate::a::f; }\n",
            ),
        ],
    );
    let found = circles(&read_tree(&tree.0));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("a -> b") && found[0].contains("b -> a"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("a.rs:2") && found[0].contains("b/inner.rs:3"),
        "{}",
        found[0]
    );
}

#[test]
fn a_circle_between_a_mod_file_and_its_child_is_found() {
    let tree = Planted::new(
        "parent",
        &[
            ("lib.rs", "//! root\npub mod m;\n"),
            (
                "m/mod.rs",
                "//! m\nmod child;\npub struct Shared;\npub fn top() { child::work() }\n",
            ),
            (
                "m/child.rs",
                "//! child\nuse super::Shared;\npub fn work() { let _ = Shared; }\n",
            ),
        ],
    );
    let found = circles(&read_tree(&tree.0));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("crate::m"), "{}", found[0]);
}

#[test]
fn long_functions_are_found_unless_marked_as_flat_tables() {
    let body = "    let _x = '}';\n    let _s = \"{ not a brace\";\n".repeat(60);
    let tree = Planted::new(
        "long",
        &[(
            "lib.rs",
            &format!(
                "//! root\npub fn long<'a>(x: &'a str) -> &'a str {{\n{body}    x\n}}\n\n\
                 /// Keyword to field, one arm each: a flat table.\n#[allow(dead_code)]\n\
                 fn table() {{\n{body}}}\n\npub fn short() {{}}\n"
            ),
        )],
    );
    let found = long_functions(&read_tree(&tree.0));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("lib.rs:2: fn long is 123 lines"),
        "{}",
        found[0]
    );
}
