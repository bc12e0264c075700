//! The determinism lint: calls and types that would make a replay differ from the first run,
//! each reported on its own tokens with the replacement to use.
//!
//! A proc macro sees tokens, not types, so the rules match paths as written (`SystemTime::now`,
//! `std::time::SystemTime::now`, `tokio::time::sleep`, …). The runtime backs the lint up: a
//! replay that issues other commands than history recorded fails the workflow task.

use crate::errors::Errors;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// The inert attribute that allows one statement to break a rule, with a visible reason.
pub(crate) const ESCAPE_HATCH: &str = "allow_nondeterministic";

/// How a rule matches a path.
enum Match {
    /// The path holds these segments in a row (`SystemTime::now` matches
    /// `std::time::SystemTime::now`, `RandomState` matches `RandomState::new`).
    Segments(&'static [&'static str]),
    /// The path starts with these segments (`tokio::time` matches `tokio::time::sleep`).
    Prefix(&'static [&'static str]),
}

struct Rule {
    matches: Match,
    what: &'static str,
    instead: &'static str,
}

const fn suffix(segments: &'static [&'static str], what: &'static str, instead: &'static str) -> Rule {
    Rule {
        matches: Match::Segments(segments),
        what,
        instead,
    }
}

const fn prefix(segments: &'static [&'static str], what: &'static str, instead: &'static str) -> Rule {
    Rule {
        matches: Match::Prefix(segments),
        what,
        instead,
    }
}

const CLOCK: &str = "reads the machine's clock";
const NOW: &str = "use `ctx.now()`: workflow time comes from history, so every replay sees the same instant";
const SLEEP: &str = "use `ctx.sleep(duration)`: a durable timer the server keeps, which survives restarts";
const RANDOM: &str = "use `ctx.random()`: seeded per run, so every replay draws the same numbers";
const UUID: &str = "use `ctx.uuid()`: seeded per run, so every replay makes the same id";
const SPAWN: &str = "run the futures together in the workflow with `futures::join!` or \
                     `futures::future::join_all`, which the workflow's own executor polls in order";
const SYNC: &str = "communicate through signals and `ctx.wait_condition(|state| …)`, which history records";
const IO: &str = "do I/O in an activity and call it with `ctx.activity(…)`: its result is recorded in history";
const ENV: &str = "pass the value as workflow input (or read it in an activity)";
const HASH: &str = "use `BTreeMap` / `BTreeSet`: `HashMap` iteration order is random per process";
const STATE: &str = "keep the value in the workflow's state (`ctx.state_mut(|s| …)`)";

static RULES: &[Rule] = &[
    suffix(&["SystemTime", "now"], CLOCK, NOW),
    suffix(&["Instant", "now"], CLOCK, NOW),
    suffix(&["Utc", "now"], CLOCK, NOW),
    suffix(&["Local", "now"], CLOCK, NOW),
    suffix(&["OffsetDateTime", "now_utc"], CLOCK, NOW),
    suffix(&["OffsetDateTime", "now_local"], CLOCK, NOW),
    suffix(&["thread", "sleep"], "blocks the thread for a wall-clock time", SLEEP),
    prefix(
        &["tokio", "time"],
        "is a tokio timer, which replay cannot reproduce",
        SLEEP,
    ),
    prefix(
        &["futures_timer"],
        "is a wall-clock timer, which replay cannot reproduce",
        SLEEP,
    ),
    prefix(
        &["async_std", "task", "sleep"],
        "is a wall-clock timer, which replay cannot reproduce",
        SLEEP,
    ),
    suffix(&["rand", "random"], "draws from an unseeded random source", RANDOM),
    suffix(&["thread_rng"], "draws from an unseeded random source", RANDOM),
    suffix(&["rand", "rng"], "draws from an unseeded random source", RANDOM),
    suffix(&["OsRng"], "draws from the operating system's random source", RANDOM),
    prefix(
        &["getrandom"],
        "draws from the operating system's random source",
        RANDOM,
    ),
    prefix(&["fastrand"], "draws from an unseeded random source", RANDOM),
    suffix(&["RandomState"], "seeds hashing randomly per process", RANDOM),
    suffix(&["Uuid", "new_v4"], "makes a random id", UUID),
    suffix(&["Uuid", "now_v7"], "makes an id from the clock", UUID),
    suffix(
        &["thread", "spawn"],
        "runs code on another thread, outside history",
        SPAWN,
    ),
    suffix(
        &["tokio", "spawn"],
        "runs code on tokio, outside the workflow's executor",
        SPAWN,
    ),
    suffix(
        &["tokio", "spawn_blocking"],
        "runs code on tokio, outside the workflow's executor",
        SPAWN,
    ),
    prefix(
        &["tokio", "task"],
        "runs code on tokio, outside the workflow's executor",
        SPAWN,
    ),
    suffix(
        &["JoinSet"],
        "runs code on tokio, outside the workflow's executor",
        SPAWN,
    ),
    prefix(
        &["tokio", "sync"],
        "is a tokio channel or lock, woken outside history",
        SYNC,
    ),
    suffix(&["mpsc", "channel"], "is a channel fed outside history", SYNC),
    suffix(&["mpsc", "sync_channel"], "is a channel fed outside history", SYNC),
    prefix(&["crossbeam_channel"], "is a channel fed outside history", SYNC),
    prefix(
        &["std", "fs"],
        "does file I/O, whose result history does not record",
        IO,
    ),
    prefix(
        &["tokio", "fs"],
        "does file I/O, whose result history does not record",
        IO,
    ),
    prefix(
        &["std", "net"],
        "does network I/O, whose result history does not record",
        IO,
    ),
    prefix(
        &["tokio", "net"],
        "does network I/O, whose result history does not record",
        IO,
    ),
    prefix(
        &["reqwest"],
        "does network I/O, whose result history does not record",
        IO,
    ),
    prefix(
        &["std", "process"],
        "runs a process, whose result history does not record",
        IO,
    ),
    suffix(&["io", "stdin"], "reads input, which history does not record", IO),
    suffix(
        &["File", "open"],
        "does file I/O, whose result history does not record",
        IO,
    ),
    suffix(
        &["File", "create"],
        "does file I/O, whose result history does not record",
        IO,
    ),
    suffix(
        &["TcpStream", "connect"],
        "does network I/O, whose result history does not record",
        IO,
    ),
    suffix(
        &["env", "var"],
        "reads the machine's environment, which may differ on replay",
        ENV,
    ),
    suffix(
        &["env", "var_os"],
        "reads the machine's environment, which may differ on replay",
        ENV,
    ),
    suffix(
        &["env", "vars"],
        "reads the machine's environment, which may differ on replay",
        ENV,
    ),
    suffix(
        &["env", "args"],
        "reads the process arguments, which may differ on replay",
        ENV,
    ),
    suffix(
        &["env", "current_dir"],
        "reads the working directory, which may differ on replay",
        ENV,
    ),
    suffix(&["HashMap", "new"], "iterates in a random order", HASH),
    suffix(&["HashMap", "with_capacity"], "iterates in a random order", HASH),
    suffix(&["HashMap", "default"], "iterates in a random order", HASH),
    suffix(&["HashSet", "new"], "iterates in a random order", HASH),
    suffix(&["HashSet", "with_capacity"], "iterates in a random order", HASH),
    suffix(&["HashSet", "default"], "iterates in a random order", HASH),
];

fn rule_for(segments: &[String]) -> Option<&'static Rule> {
    RULES.iter().find(|rule| match rule.matches {
        Match::Segments(s) => segments.windows(s.len()).any(|w| w.iter().zip(s).all(|(a, b)| a == b)),
        Match::Prefix(p) => segments.len() >= p.len() && segments.iter().zip(p).all(|(a, b)| a == b),
    })
}

fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

fn shown(segments: &[String]) -> String {
    segments.join("::")
}

/// Checks a block of workflow code that sits in `outer` (a function's parameters, and a
/// `#[deterministic]` module's `use` items), adding one error per offending path.
pub(crate) fn check_block_in(block: &syn::Block, outer: &Scope, errors: &mut Errors) {
    let mut scope = outer.clone();
    scope.visit_block(block);
    let mut visitor = Lint { errors, scope };
    visitor.visit_block(block);
}

/// What the `use` items the macro can see bring into scope: `use std::time::SystemTime as
/// Clock;` maps `Clock` to `std::time::SystemTime`, `use std::fs;` maps `fs` to `std::fs`, and
/// `use std::thread::*;` makes `spawn(…)` a candidate for `std::thread::spawn`.
#[derive(Default, Clone)]
pub(crate) struct Scope {
    aliases: std::collections::BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    /// Names the checked code defines itself (functions, bindings, parameters): a glob never
    /// supplies them.
    defined: std::collections::BTreeSet<String>,
}

impl Scope {
    /// The scope the `use` items among `items` (a module's) make.
    pub(crate) fn of_items(items: &[syn::Item]) -> Scope {
        let mut scope = Scope::default();
        for item in items {
            match item {
                syn::Item::Use(u) => scope.add(&[], &u.tree),
                syn::Item::Fn(f) => {
                    scope.defined.insert(f.sig.ident.to_string());
                }
                _ => {}
            }
        }
        scope
    }

    /// Adds a function's parameters to the names the code defines.
    pub(crate) fn with_params(mut self, sig: &syn::Signature) -> Scope {
        for input in &sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                self.visit_pat(&t.pat);
            }
        }
        self
    }

    fn add(&mut self, prefix: &[String], tree: &syn::UseTree) {
        let with = |last: &syn::Ident| {
            let mut full = prefix.to_vec();
            full.push(last.to_string());
            full
        };
        match tree {
            syn::UseTree::Path(p) => self.add(&with(&p.ident), &p.tree),
            // `use std::fs::{self, File}`: `self` names the module itself.
            syn::UseTree::Name(n) if n.ident == "self" => {
                if let Some(last) = prefix.last() {
                    self.aliases.insert(last.clone(), prefix.to_vec());
                }
            }
            syn::UseTree::Name(n) => {
                self.aliases.insert(n.ident.to_string(), with(&n.ident));
            }
            syn::UseTree::Rename(r) if r.ident == "self" => {
                self.aliases.insert(r.rename.to_string(), prefix.to_vec());
            }
            syn::UseTree::Rename(r) => {
                self.aliases.insert(r.rename.to_string(), with(&r.ident));
            }
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.add(prefix, t)),
            syn::UseTree::Glob(_) => self.globs.push(prefix.to_vec()),
        }
    }

    /// The rule `path` breaks, with the path it names: through an alias if its first segment
    /// is one; else as written and, when `globs` is set, under each glob import.
    ///
    /// Which glob supplies a name is unknown to a macro, so under a glob only a rule that
    /// names the item itself counts (`use std::thread::*; spawn(…)`), or a rule on a whole
    /// module for a function name (`use tokio::time::*; sleep(…)`) — never for a type or a
    /// variant (`Ok`, `Duration`), which far more often come from elsewhere.
    fn rule_for(&self, path: &syn::Path, globs: Globs) -> Option<(Vec<String>, &'static Rule)> {
        let segs = segments(path);
        if let Some(full) = segs.first().and_then(|first| self.aliases.get(first)) {
            let full: Vec<String> = full.iter().cloned().chain(segs.into_iter().skip(1)).collect();
            return rule_for(&full).map(|rule| (full, rule));
        }
        if let Some(rule) = rule_for(&segs) {
            return Some((segs, rule));
        }
        let first = segs.first()?;
        if globs == Globs::No || path.leading_colon.is_some() || self.defined.contains(first) {
            return None;
        }
        let function_name =
            globs == Globs::ItemsAndFunctions && segs.len() == 1 && first.starts_with(|c: char| c.is_ascii_lowercase());
        self.globs.iter().find_map(|glob| {
            let full: Vec<String> = glob.iter().cloned().chain(segs.iter().cloned()).collect();
            let rule = rule_for(&full)?;
            let names_item = matches!(rule.matches, Match::Segments(s) if s.len() > 1);
            (names_item || function_name).then_some((full, rule))
        })
    }
}

/// Which paths may be resolved under glob imports (see [`Scope::rule_for`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Globs {
    /// A bare value: far more often a local binding than an import.
    No,
    /// A type, a struct literal, a path of several segments: rules naming the item itself.
    ItemsOnly,
    /// A callee: also a module-wide rule for a function name (`sleep(…)` under `tokio::time::*`).
    ItemsAndFunctions,
}

impl<'ast> Visit<'ast> for Scope {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.add(&[], &u.tree);
    }

    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.defined.insert(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.defined.insert(f.sig.ident.to_string());
        syn::visit::visit_item_fn(self, f);
    }
}

/// Whether an attribute is the escape hatch, and its reason is given.
fn escape_hatch(attrs: &[syn::Attribute], errors: &mut Errors) -> bool {
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident(ESCAPE_HATCH)) else {
        return false;
    };
    let reason = attr.parse_args_with(|input: syn::parse::ParseStream| {
        let key: syn::Ident = input.parse()?;
        let _: syn::Token![=] = input.parse()?;
        let value: syn::LitStr = input.parse()?;
        Ok((key, value))
    });
    match reason {
        Ok((key, value)) if key == "reason" && !value.value().trim().is_empty() => {}
        _ => errors.push(syn::Error::new_spanned(
            attr,
            "`#[allow_nondeterministic]` needs a reason: \
             `#[allow_nondeterministic(reason = \"why this is safe on replay\")]`",
        )),
    }
    true
}

/// Whether a function opts out of the lint with `#[allow_nondeterministic(reason = "…")]`
/// (checked for its reason, then removed).
pub(crate) fn fn_escape_hatch(attrs: &mut Vec<syn::Attribute>, errors: &mut Errors) -> bool {
    let allowed = escape_hatch(attrs, errors);
    attrs.retain(|a| !a.path().is_ident(ESCAPE_HATCH));
    allowed
}

struct Lint<'a> {
    errors: &'a mut Errors,
    scope: Scope,
}

impl Lint<'_> {
    /// Reports `path` if what it names breaks a rule.
    fn check_path(&mut self, path: &syn::Path, span_of: &dyn quote::ToTokens, globs: Globs) {
        if let Some((segs, rule)) = self.scope.rule_for(path, globs) {
            self.errors.push(syn::Error::new_spanned(
                span_of,
                format!(
                    "`{}` is not allowed in workflow code: it {}\n\
                     help: {}\n\
                     note: if this is safe on replay, mark the statement `#[allow_nondeterministic(reason = \"…\")]`",
                    shown(&segs),
                    rule.what,
                    rule.instead
                ),
            ));
        }
    }
}

impl<'ast> Visit<'ast> for Lint<'_> {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        let attrs: &[syn::Attribute] = match stmt {
            syn::Stmt::Local(l) => &l.attrs,
            syn::Stmt::Expr(syn::Expr::Macro(m), _) => &m.attrs,
            syn::Stmt::Expr(e, _) => expr_attrs(e),
            syn::Stmt::Macro(m) => &m.attrs,
            syn::Stmt::Item(_) => &[],
        };
        if escape_hatch(attrs, self.errors) {
            return;
        }
        syn::visit::visit_stmt(self, stmt);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        // `ctx.side_effect(|| …)` exists to run nondeterministic code once and record it.
        if call.method == "side_effect" {
            self.visit_expr(&call.receiver);
            return;
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        match &*call.func {
            syn::Expr::Path(callee) if callee.qself.is_none() => {
                self.check_path(&callee.path, &callee.path, Globs::ItemsAndFunctions);
                syn::visit::visit_path(self, &callee.path);
            }
            other => self.visit_expr(other),
        }
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }

    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        let globs = if e.path.segments.len() > 1 {
            Globs::ItemsOnly
        } else {
            Globs::No
        };
        self.check_path(&e.path, &e.path, globs);
        syn::visit::visit_expr_path(self, e);
    }

    fn visit_expr_struct(&mut self, e: &'ast syn::ExprStruct) {
        self.check_path(&e.path, &e.path, Globs::ItemsOnly);
        syn::visit::visit_expr_struct(self, e);
    }

    fn visit_type_path(&mut self, t: &'ast syn::TypePath) {
        if t.qself.is_none() {
            self.check_path(&t.path, &t.path, Globs::ItemsOnly);
        }
        syn::visit::visit_type_path(self, t);
    }

    // `use` items are where names come from, not uses of them.
    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {}

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let segs = segments(&m.path);
        let last = segs.last().map(String::as_str).unwrap_or("");
        let biased = m
            .tokens
            .clone()
            .into_iter()
            .next()
            .is_some_and(|t| t.to_string() == "biased");
        match last {
            "select" if !biased => self.errors.push(syn::Error::new_spanned(
                &m.path,
                format!(
                    "`{}!` is not allowed in workflow code: it picks among ready branches at random\n\
                     help: start it with `biased;`, or use `futures::future::select` or `futures::select_biased!`, \
                     which poll in a fixed order",
                    shown(&segs)
                ),
            )),
            "thread_local" => self.errors.push(syn::Error::new_spanned(
                &m.path,
                format!(
                    "`thread_local!` is not allowed in workflow code: it is state that history does not record\nhelp: {STATE}"
                ),
            )),
            _ => {}
        }
        // Calls inside macro arguments (`println!("{}", SystemTime::now())`) are checked too
        // when the arguments parse as expressions.
        if let Ok(args) = m.parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        if let syn::StaticMutability::Mut(m) = &s.mutability {
            self.errors.push(syn::Error::new(
                s.static_token.span().join(m.span()).unwrap_or_else(|| s.static_token.span()),
                format!("`static mut` is not allowed in workflow code: it is state that history does not record\nhelp: {STATE}"),
            ));
        }
        syn::visit::visit_item_static(self, s);
    }

    // Closures and nested functions are workflow code too, and are visited by default; nested
    // items like `impl` blocks or modules are not workflow code.
    fn visit_item_impl(&mut self, _: &'ast syn::ItemImpl) {}
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
}

fn expr_attrs(e: &syn::Expr) -> &[syn::Attribute] {
    match e {
        syn::Expr::Call(c) => &c.attrs,
        syn::Expr::MethodCall(c) => &c.attrs,
        syn::Expr::Assign(a) => &a.attrs,
        syn::Expr::Await(a) => &a.attrs,
        syn::Expr::Block(b) => &b.attrs,
        syn::Expr::Path(p) => &p.attrs,
        _ => &[],
    }
}

/// Removes the escape-hatch attributes (inert for rustc) from a block after checking it.
pub(crate) fn strip_escape_hatches(block: &mut syn::Block) {
    struct Strip;
    impl syn::visit_mut::VisitMut for Strip {
        fn visit_stmt_mut(&mut self, stmt: &mut syn::Stmt) {
            let attrs = match stmt {
                syn::Stmt::Local(l) => Some(&mut l.attrs),
                syn::Stmt::Macro(m) => Some(&mut m.attrs),
                syn::Stmt::Expr(e, _) => expr_attrs_mut(e),
                syn::Stmt::Item(_) => None,
            };
            if let Some(attrs) = attrs {
                attrs.retain(|a| !a.path().is_ident(ESCAPE_HATCH));
            }
            syn::visit_mut::visit_stmt_mut(self, stmt);
        }
    }
    syn::visit_mut::VisitMut::visit_block_mut(&mut Strip, block);
}

fn expr_attrs_mut(e: &mut syn::Expr) -> Option<&mut Vec<syn::Attribute>> {
    match e {
        syn::Expr::Call(c) => Some(&mut c.attrs),
        syn::Expr::MethodCall(c) => Some(&mut c.attrs),
        syn::Expr::Assign(a) => Some(&mut a.attrs),
        syn::Expr::Await(a) => Some(&mut a.attrs),
        syn::Expr::Block(b) => Some(&mut b.attrs),
        syn::Expr::Path(p) => Some(&mut p.attrs),
        syn::Expr::Macro(m) => Some(&mut m.attrs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(code: &str) -> Vec<String> {
        let block: syn::Block = syn::parse_str(code).unwrap();
        let mut errors = Errors::default();
        check_block_in(&block, &Scope::default(), &mut errors);
        errors.messages()
    }

    #[test]
    fn every_rule_of_the_design_table_fires() {
        for (code, needle) in [
            ("{ let t = std::time::SystemTime::now(); }", "ctx.now()"),
            ("{ let t = Instant::now(); }", "ctx.now()"),
            ("{ let t = chrono::Utc::now(); }", "ctx.now()"),
            ("{ let t = OffsetDateTime::now_utc(); }", "ctx.now()"),
            ("{ std::thread::sleep(d); }", "ctx.sleep"),
            ("{ tokio::time::sleep(d).await; }", "ctx.sleep"),
            ("{ let x: u8 = rand::random(); }", "ctx.random()"),
            ("{ let r = rand::thread_rng(); }", "ctx.random()"),
            ("{ let r = OsRng; }", "ctx.random()"),
            ("{ let n = fastrand::u32(..); }", "ctx.random()"),
            ("{ let s = RandomState::new(); }", "ctx.random()"),
            ("{ let id = Uuid::new_v4(); }", "ctx.uuid()"),
            ("{ tokio::spawn(async {}); }", "futures::join!"),
            ("{ std::thread::spawn(|| {}); }", "futures::join!"),
            ("{ let s = JoinSet::new(); }", "futures::join!"),
            ("{ tokio::select! { _ = a => {} } }", "select_biased!"),
            ("{ let (tx, rx) = tokio::sync::mpsc::channel(1); }", "signals"),
            ("{ let (tx, rx) = std::sync::mpsc::channel(); }", "signals"),
            ("{ let text = std::fs::read_to_string(p); }", "an activity"),
            ("{ let f = File::open(p); }", "an activity"),
            ("{ let r = reqwest::get(url).await; }", "an activity"),
            ("{ let s = std::net::TcpStream::connect(a); }", "an activity"),
            ("{ let o = std::process::Command::new(\"ls\"); }", "an activity"),
            ("{ let v = std::env::var(\"HOME\"); }", "workflow input"),
            ("{ let m: HashMap<u8, u8> = HashMap::new(); }", "BTreeMap"),
            ("{ let s = HashSet::with_capacity(4); }", "BTreeSet"),
            ("{ static mut COUNT: u32 = 0; }", "workflow's state"),
            ("{ thread_local! { static X: u8 = 0; } }", "workflow's state"),
            ("{ println!(\"{:?}\", SystemTime::now()); }", "ctx.now()"),
            ("{ let f = || Instant::now(); }", "ctx.now()"),
            (
                "{ use std::time::SystemTime as Clock; let t = Clock::now(); }",
                "ctx.now()",
            ),
            ("{ use std::{fs, time::Instant}; let t = fs::read(p); }", "an activity"),
            ("{ use std::time::*; let t = SystemTime::now(); }", "ctx.now()"),
            ("{ use std::thread::*; spawn(|| {}); }", "futures::join!"),
            (
                "{ use tokio::time::{self as clock}; clock::sleep(d).await; }",
                "ctx.sleep",
            ),
            ("{ use std::fs::{self}; let t = fs::read(p); }", "an activity"),
            ("{ use tokio::sync::Mutex; let m = Mutex::new(0); }", "signals"),
            ("{ let m: tokio::sync::Mutex<u8> = make(); }", "signals"),
        ] {
            let messages = lint(code);
            assert_eq!(messages.len(), 1, "{code}: {messages:?}");
            assert!(messages[0].contains(needle), "{code}: {}", messages[0]);
            assert!(messages[0].contains("help:"), "{code}: {}", messages[0]);
        }
    }

    #[test]
    fn deterministic_code_and_the_escape_hatch_pass() {
        for code in [
            "{ let t = ctx.now(); ctx.sleep(d).await?; let m = BTreeMap::new(); }",
            "{ let r = ctx.activity(charge, order).await?; }",
            "{ #[allow_nondeterministic(reason = \"only logged\")] let t = SystemTime::now(); }",
            "{ let x = my::time::now(); let s = self.sleep; let c = Command::new(order); }",
            "{ let id: u64 = ctx.side_effect(|| rand::random())?; }",
            "{ tokio::select! { biased; _ = a => {} } let j = tokio::join!(a, b); }",
            // A glob never turns a local name into an import, nor supplies `Ok` or a type.
            "{ use std::fs::*; let read = 1; let n = read + 1; }",
            "{ use tokio::task::*; let f = || 1; let n = f(); fn step() {} step(); Ok(()) }",
            "{ use tokio::time::*; let d = Duration::from_secs(1); let n = 1 as usize; }",
            "{ use std::sync::Mutex as Lock; let m = Lock::new(0); let v: Vec<u8> = Vec::new(); }",
        ] {
            assert_eq!(lint(code), Vec::<String>::new(), "{code}");
        }
        let missing_reason = lint("{ #[allow_nondeterministic] let t = SystemTime::now(); }");
        assert_eq!(missing_reason.len(), 1);
        assert!(missing_reason[0].contains("needs a reason"), "{missing_reason:?}");
    }

    #[test]
    fn a_modules_use_items_resolve_paths_in_its_functions() {
        let module: syn::ItemMod =
            syn::parse_str("mod m { use std::time::SystemTime as Clock; use tokio::time::*; fn f() {} }").unwrap();
        let scope = Scope::of_items(&module.content.unwrap().1);
        let block: syn::Block = syn::parse_str("{ let t = Clock::now(); sleep(d).await; }").unwrap();
        let mut errors = Errors::default();
        check_block_in(&block, &scope, &mut errors);
        let messages = errors.messages();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("`std::time::SystemTime::now`"), "{}", messages[0]);
        assert!(messages[1].contains("`tokio::time::sleep`"), "{}", messages[1]);
    }

    #[test]
    fn every_offence_is_reported_not_just_the_first() {
        let messages = lint("{ let a = SystemTime::now(); let b = Uuid::new_v4(); tokio::spawn(x); }");
        assert_eq!(messages.len(), 3, "{messages:?}");
    }
}
