//! The lint's tests: the rule table walked rule by rule, the documentation checked against
//! it, and the misses and false positives found so far, each kept closed.

use super::rules::{GROUPS, Group, Pattern, entries};
use super::visitor::Finding;
use super::{Scope, check_block_in, findings_in};
use crate::errors::Errors;

fn findings(code: &str) -> Vec<Finding> {
    findings_in_scope(code, &Scope::default())
}

fn findings_in_scope(code: &str, scope: &Scope) -> Vec<Finding> {
    let block: syn::Block = syn::parse_str(code).unwrap_or_else(|e| panic!("{code}: {e}"));
    findings_in(&block, scope)
}

fn lint(code: &str) -> Vec<String> {
    findings(code).iter().map(|f| f.error.to_string()).collect()
}

/// Asserts that `code` gives exactly one error, containing `needle`.
fn assert_fires(code: &str, needle: &str) {
    let messages = lint(code);
    assert_eq!(messages.len(), 1, "{code}: {messages:#?}");
    assert!(messages[0].contains(needle), "{code}: {}", messages[0]);
}

fn assert_passes(code: &str) {
    assert_eq!(lint(code), Vec::<String>::new(), "{code}");
}

#[test]
fn every_rule_fires_on_its_sample_with_its_reason_and_fix() {
    let mut walked = 0;
    for (index, entry) in entries().enumerate() {
        let (rule, sample) = (entry.rule, entry.rule.sample);
        let found = findings(sample);
        let messages: Vec<String> = found.iter().map(|f| f.error.to_string()).collect();
        assert_eq!(found.len(), 1, "rule {index}, sample {sample}: {messages:#?}");
        let fired = found[0].entry.is_some_and(|e| std::ptr::eq(e.rule, rule));
        assert!(
            fired,
            "rule {index}: its sample {sample} fires another rule: {}",
            messages[0]
        );
        assert!(messages[0].contains(rule.what), "rule {index}: {}", messages[0]);
        let help = format!("\nhelp: {}\n", entry.group.help);
        assert!(messages[0].contains(&help), "rule {index}: {}", messages[0]);
        walked += 1;
    }
    let in_table: usize = GROUPS.iter().map(|group| group.rules.len()).sum();
    assert_eq!(walked, in_table);
    assert!(in_table >= 72, "the table lost rules: {in_table}");
}

/// How the documentation names what a pattern rejects: a path, or words.
enum Rejected {
    Path(Vec<&'static str>),
    Words(String),
}

fn rejected(pattern: &Pattern) -> Rejected {
    match pattern {
        Pattern::Segments(segments) => Rejected::Path(segments.to_vec()),
        Pattern::DefaultHasher {
            map,
            constructor: Some(constructor),
            ..
        } => Rejected::Path(vec![map, constructor]),
        Pattern::Module { path, except: [] } => Rejected::Words(format!("`{}::*`", path.join("::"))),
        Pattern::Module { path, except } => {
            let except: Vec<String> = except.iter().map(|e| format!("`{e}`")).collect();
            Rejected::Words(format!("`{}::*` (not {})", path.join("::"), except.join(", ")))
        }
        Pattern::DefaultHasher {
            map,
            params,
            constructor: None,
        } => Rejected::Words(format!("`{map}<{}>`", vec!["_"; params - 1].join(", "))),
        Pattern::Macro { name, unbiased: true } => Rejected::Words(format!("unbiased `{name}!`")),
        Pattern::Macro { name, unbiased: false } => Rejected::Words(format!("`{name}!`")),
        Pattern::StaticMut => Rejected::Words("`static mut`".to_string()),
    }
}

/// One cell of rejected code: paths in a row that differ only in their last segment are
/// shown once (`env::{var, vars}`).
fn rejected_cell(group: &Group) -> String {
    // Each entry: a module and the last segments under it, or words.
    let mut entries: Vec<(Option<Vec<&str>>, Vec<String>)> = Vec::new();
    for rule in group.rules {
        match rejected(&rule.pattern) {
            Rejected::Path(path) if path.len() > 1 => {
                let (last, module) = path.split_last().expect("two segments or more");
                match entries.last_mut() {
                    Some((Some(previous), lasts)) if previous.as_slice() == module => lasts.push(last.to_string()),
                    _ => entries.push((Some(module.to_vec()), vec![last.to_string()])),
                }
            }
            Rejected::Path(path) => entries.push((None, vec![format!("`{}`", path.join("::"))])),
            Rejected::Words(words) => entries.push((None, vec![words])),
        }
    }
    let cells: Vec<String> = entries
        .into_iter()
        .map(|(module, lasts)| match (module, lasts.as_slice()) {
            (Some(module), [last]) => format!("`{}::{last}`", module.join("::")),
            (Some(module), lasts) => format!("`{}::{{{}}}`", module.join("::"), lasts.join(", ")),
            (None, words) => words.join(", "),
        })
        .collect();
    cells.join(", ")
}

/// The documentation's table of rules, made from the rule table: one row per group.
fn documentation_table() -> String {
    let mut table = String::from("| rejected in workflow code | use instead |\n|---|---|\n");
    for group in GROUPS {
        table.push_str(&format!("| {} | {} |\n", rejected_cell(group), group.doc));
    }
    table
}

fn workspace_file(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn the_readme_and_the_rustdoc_show_the_rule_table() {
    let table = documentation_table();
    let readme = workspace_file("README.md");
    assert!(
        readme.contains(&table),
        "README.md's lint table differs from the rule table; it should read:\n\n{table}"
    );
    let rustdoc: String = table.lines().map(|line| format!("/// {line}\n")).collect();
    let lib = workspace_file("workflow-macros/src/lib.rs");
    assert!(
        lib.contains(&rustdoc),
        "the lint table in the rustdoc of `#[deterministic]` (lib.rs) differs from the rule table; \
         it should read:\n\n{rustdoc}"
    );
}

#[test]
fn every_group_has_a_compile_fail_case_showing_its_help() {
    for group in GROUPS {
        let stderr = workspace_file(&format!("ui-tests/tests/ui/fail/lint_{}.stderr", group.name));
        assert!(
            stderr.contains(group.help),
            "lint_{}.stderr does not show the help: {}",
            group.name,
            group.help
        );
    }
}

#[test]
fn the_help_names_the_fix() {
    for (code, fix) in [
        ("{ std::thread::spawn(|| {}); }", "in an activity"),
        ("{ let h = tokio::task::spawn_blocking(|| 1); }", "in an activity"),
        (
            "{ let m = HashMap::with_capacity(4); }",
            "`BTreeMap` / `BTreeSet`, or name a fixed hasher",
        ),
        (
            "{ let s = RandomState::new(); }",
            "`BTreeMap` / `BTreeSet`, or name a fixed hasher",
        ),
        ("{ let pid = std::process::id(); }", "workflow input"),
        ("{ let r = rand::thread_rng(); }", "a generator seeded from it"),
    ] {
        assert_fires(code, fix);
    }
    assert_fires("{ let pid = std::process::id(); }", "reads the process id");
}

#[test]
fn maps_and_sets_with_the_default_hasher_fire_however_they_are_built() {
    for code in [
        "{ let m = pairs.into_iter().collect::<HashMap<u8, u8>>(); }",
        "{ let m = std::collections::HashMap::from([(1, 2)]); }",
        "{ let m: HashMap<u8, u8> = Default::default(); }",
        "{ let s: HashSet<_> = ids.into_iter().collect(); }",
        "{ let m = HashMap::<u8, u8>::default(); }",
        "{ let m: HashMap<u8, u8> = HashMap::default(); }",
        "{ let m: HashMap<u8, u8> = HashMap::new(); }",
        "{ use std::collections::HashMap as Map; let m: Map<u8, u8> = make(); }",
        "{ let m = hashbrown::HashMap::new(); }",
        "{ let m: HashMap<u8, u8, RandomState> = HashMap::default(); }",
    ] {
        assert_fires(code, "help: use `BTreeMap` / `BTreeSet`");
    }
    assert_fires("{ let m: HashMap<u8, u8> = make(); }", "`HashMap<…>` is not allowed");
}

#[test]
fn maps_and_sets_with_a_named_hasher_pass() {
    for code in [
        "{ let m: HashMap<u8, u8, FixedState> = HashMap::default(); }",
        "{ let m: FixedMap<u8, u8> = HashMap::default(); }",
        "{ let m = HashMap::<u8, u8, FixedState>::default(); }",
        "{ let m = pairs.into_iter().collect::<HashMap<_, _, FixedState>>(); }",
        "{ let s: HashSet<u8, BuildHasherDefault<Fnv>> = ids.into_iter().collect(); }",
        "{ let m = HashMap::with_hasher(FixedState); }",
        "{ let m: BTreeMap<u8, u8> = pairs.into_iter().collect(); let s = BTreeSet::from([1]); }",
        "{ let m = IndexMap::new(); }",
    ] {
        assert_passes(code);
    }
}

#[test]
fn scoped_and_built_threads_fire() {
    for code in [
        "{ std::thread::scope(|s| { s.spawn(|| 1); }); }",
        "{ thread::scope(|s| { s.spawn(|| 1); }); }",
        "{ let t = thread::Builder::new().name(n).spawn(|| 1); }",
        "{ use std::thread::Builder; let t = Builder::new().spawn(|| 1); }",
        "{ use std::thread::*; let t = Builder::new().spawn(|| 1); }",
        "{ let b: std::thread::Builder = make(); }",
    ] {
        assert_fires(code, "help: do CPU-heavy or blocking work in an activity");
    }
}

#[test]
fn every_environment_read_fires() {
    for code in [
        "{ for (k, v) in std::env::vars_os() {} }",
        "{ use std::env; let all = env::vars_os(); }",
        "{ let pid = std::process::id(); }",
        "{ use std::process; let pid = process::id(); }",
    ] {
        assert_fires(code, "help: pass the value as workflow input");
    }
}

#[test]
fn names_the_code_declares_itself_are_not_the_rules() {
    for code in [
        "{ let thread_rng = 3; let n = thread_rng + 1; }",
        "{ let thread_rng = || 3; let n = thread_rng(); }",
        "{ fn thread_rng() -> u8 { 4 } let n = thread_rng(); }",
        "{ struct SystemTime; impl SystemTime { fn now() -> Self { SystemTime } } let t = SystemTime::now(); }",
        "{ let t = SystemTime::now(); struct SystemTime; impl SystemTime { fn now() -> Self { SystemTime } } }",
        "{ mod thread { pub fn spawn(f: fn()) {} } thread::spawn(|| {}); }",
        "{ enum Uuid { Nil } impl Uuid { fn new_v4() -> Self { Uuid::Nil } } let id = Uuid::new_v4(); }",
        "{ let ids = xs.iter().map(|thread_rng| thread_rng + 1); }",
        "{ match x { Some(random) => random(), None => 0 }; }",
        "{ for spawn_blocking in jobs { spawn_blocking(); } }",
        "{ if let Some(thread_rng) = maybe { thread_rng(); } }",
    ] {
        assert_passes(code);
    }
}

#[test]
fn a_local_name_hides_a_rule_only_where_it_is_in_scope() {
    for code in [
        // The binding is made from the call: the call is the imported function.
        "{ use rand::random; let random: u64 = random(); }",
        // Declared after the call, or in another block.
        "{ let r = thread_rng(); let thread_rng = 1; }",
        "{ { let thread_rng = 1; } let r = thread_rng(); }",
        "{ let f = |thread_rng: u8| thread_rng; let r = thread_rng(); }",
        // A value's name does not hide a path through a module of that name.
        "{ let rand = 1; let r = rand::random::<u8>(); }",
    ] {
        assert_fires(code, "help: use `ctx.random()`");
    }
}

#[test]
fn a_modules_own_types_hide_the_rules() {
    let module: syn::ItemMod = syn::parse_str(
        "mod m { pub struct SystemTime; impl SystemTime { pub fn now() -> Self { SystemTime } } mod thread {} }",
    )
    .unwrap();
    let scope = Scope::of_items(&module.content.unwrap().1);
    assert!(findings_in_scope("{ let t = SystemTime::now(); thread::spawn(f); }", &scope).is_empty());
    assert_eq!(
        findings_in_scope("{ let t = std::time::SystemTime::now(); }", &scope).len(),
        1
    );
}

#[test]
fn plain_values_of_a_flagged_module_pass() {
    for code in [
        "{ let d = tokio::time::Duration::from_secs(1); }",
        "{ use tokio::time::Duration; let d = Duration::from_millis(5); }",
        "{ let deadline: tokio::time::Instant = start + d; }",
        "{ let a = std::net::Ipv4Addr::new(127, 0, 0, 1); let s: std::net::SocketAddr = text.parse()?; }",
    ] {
        assert_passes(code);
    }
    assert_fires("{ tokio::time::sleep(d).await; }", "is a tokio timer");
    assert_fires("{ let t = tokio::time::Instant::now(); }", "reads the machine's clock");
    assert_fires("{ let s = std::net::TcpListener::bind(a); }", "does network I/O");
}

#[test]
fn seeded_generators_pass_whatever_their_crate() {
    for code in [
        "{ let mut rng = StdRng::seed_from_u64(ctx.random()); }",
        "{ let mut rng = rand::rngs::SmallRng::from_seed(seed); }",
        "{ let mut rng = ChaCha8Rng::seed_from_u64(ctx.random()); }",
        "{ let mut rng = fastrand::Rng::with_seed(ctx.random()); }",
        "{ use fastrand::Rng; let mut rng: Rng = Rng::with_seed(seed); }",
    ] {
        assert_passes(code);
    }
    for code in [
        "{ let mut rng = StdRng::from_entropy(); }",
        "{ let mut rng = SmallRng::from_os_rng(); }",
        "{ let mut rng = StdRng::from_rng(rand::thread_rng()); }",
        "{ let mut rng = fastrand::Rng::new(); }",
        "{ use fastrand::Rng; let mut rng = Rng::new(); }",
        "{ let n = fastrand::usize(..10); }",
    ] {
        assert_fires(code, "help: use `ctx.random()`");
    }
}

#[test]
fn paths_resolve_through_imports() {
    for (code, needle) in [
        ("{ println!(\"{:?}\", SystemTime::now()); }", "ctx.now()"),
        ("{ let f = || Instant::now(); }", "ctx.now()"),
        (
            "{ use std::time::SystemTime as Clock; let t = Clock::now(); }",
            "ctx.now()",
        ),
        ("{ use std::{fs, time::Instant}; let t = fs::read(p); }", "an activity"),
        ("{ use std::time::*; let t = SystemTime::now(); }", "ctx.now()"),
        ("{ use std::thread::*; spawn(|| {}); }", "in an activity"),
        (
            "{ use tokio::time::{self as clock}; clock::sleep(d).await; }",
            "ctx.sleep",
        ),
        ("{ use std::fs::{self}; let t = fs::read(p); }", "an activity"),
        ("{ use tokio::sync::Mutex; let m = Mutex::new(0); }", "signals"),
        ("{ let m: tokio::sync::Mutex<u8> = make(); }", "signals"),
        ("{ tokio::select! { _ = a => {} } }", "select_biased!"),
    ] {
        assert_fires(code, needle);
    }
}

#[test]
fn deterministic_code_and_the_escape_hatch_pass() {
    for code in [
        "{ let t = ctx.now(); ctx.sleep(d).await?; let m = BTreeMap::new(); }",
        "{ let r = ctx.activity(charge, order).await?; }",
        "{ #[allow_nondeterministic(reason = \"only logged\")] let t = SystemTime::now(); }",
        "{ #[allow_nondeterministic(reason = \"a counter for logs\")] static mut N: u32 = 0; }",
        "{ let x = my::time::now(); let s = self.sleep; let c = Command::new(order); }",
        "{ let id: u64 = ctx.side_effect(|| rand::random())?; }",
        "{ tokio::select! { biased; _ = a => {} } let j = tokio::join!(a, b); }",
        // A glob never turns a local name into an import, nor supplies `Ok` or a type.
        "{ use std::fs::*; let read = 1; let n = read + 1; }",
        "{ use tokio::task::*; let f = || 1; let n = f(); fn step() {} step(); Ok(()) }",
        "{ use tokio::time::*; let d = Duration::from_secs(1); let n = 1 as usize; }",
        "{ use std::sync::Mutex as Lock; let m = Lock::new(0); let v: Vec<u8> = Vec::new(); }",
        // A nested module's imports are its own.
        "{ mod inner { use std::time::SystemTime as Clock; } let t = Clock::now(); }",
    ] {
        assert_passes(code);
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
    let found = findings_in_scope("{ let t = Clock::now(); sleep(d).await; f(); }", &scope);
    let messages: Vec<String> = found.iter().map(|f| f.error.to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("`std::time::SystemTime::now`"), "{}", messages[0]);
    assert!(messages[1].contains("`tokio::time::sleep`"), "{}", messages[1]);
}

#[test]
fn every_offence_is_reported_not_just_the_first() {
    let block: syn::Block =
        syn::parse_str("{ let a = SystemTime::now(); let b = Uuid::new_v4(); tokio::spawn(x); }").unwrap();
    let mut errors = Errors::default();
    check_block_in(&block, &Scope::default(), &mut errors);
    let messages = errors.messages();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[2].contains("`tokio::spawn`"), "{}", messages[2]);
}
