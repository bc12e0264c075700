//! The rule table: what the lint rejects, why, and what to use instead, in groups that share
//! a fix. Every rule carries a sample of workflow code it fires on, and the tests walk them
//! all; the documentation tables (README, the rustdoc of `#[deterministic]`) are checked
//! against this table.

/// A family of rules that share a fix: one row of the documentation table, one help line.
pub(crate) struct Group {
    /// The group's name; its compile-fail case is `ui-tests/tests/ui/fail/lint_{name}.rs`.
    pub(crate) name: &'static str,
    /// The fix, as the help line of each of the group's errors says it.
    pub(crate) help: &'static str,
    /// The fix, short, for the documentation table.
    #[cfg_attr(not(test), expect(dead_code, reason = "the tests check the documentation by it"))]
    pub(crate) doc: &'static str,
    /// The group's rules, in the order of the documentation table.
    pub(crate) rules: &'static [Rule],
}

/// How a rule recognises the code it rejects.
pub(crate) enum Pattern {
    /// A path holding these segments in a row: `SystemTime::now` matches
    /// `std::time::SystemTime::now`, `RandomState` matches `RandomState::new`.
    Segments(&'static [&'static str]),
    /// A path into this module, unless its next segment is one of `except`: plain values the
    /// module re-exports or defines (`tokio::time::Duration` is `std::time::Duration`).
    Module {
        path: &'static [&'static str],
        except: &'static [&'static str],
    },
    /// A hash container whose hasher is not named, so it is the default one, seeded randomly
    /// per process. Without `constructor`: `map` as a type with fewer than `params` generic
    /// arguments (`HashMap<K, V>`). With it: the call `map::constructor` (generic over the
    /// hasher) with the hasher named neither on the path (`HashMap::<K, V, S>::default`) nor by
    /// the type of the `let` it initialises.
    DefaultHasher {
        map: &'static str,
        params: usize,
        constructor: Option<&'static str>,
    },
    /// A macro, by the last segment of its path; `unbiased`: unless its input starts with
    /// `biased;`.
    Macro { name: &'static str, unbiased: bool },
    /// A `static mut` item.
    StaticMut,
}

/// One thing the lint rejects.
pub(crate) struct Rule {
    pub(crate) pattern: Pattern,
    /// Why it is rejected, completing "it …".
    pub(crate) what: &'static str,
    /// Workflow code (a block) on which this rule, and only this rule, fires.
    #[cfg_attr(not(test), expect(dead_code, reason = "the tests walk the table with it"))]
    pub(crate) sample: &'static str,
}

/// One segment of a path as the lint sees it: its name and how many generic type arguments it
/// was written with (`HashMap<K, V>` has two).
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) name: String,
    pub(crate) args: usize,
}

impl Segment {
    /// A segment written without generic arguments.
    pub(crate) fn plain(name: &str) -> Segment {
        Segment {
            name: name.to_string(),
            args: 0,
        }
    }
}

/// The segments of a path as written.
pub(crate) fn segments_of(path: &syn::Path) -> Vec<Segment> {
    path.segments
        .iter()
        .map(|s| Segment {
            name: s.ident.to_string(),
            args: type_arguments(&s.arguments),
        })
        .collect()
}

fn type_arguments(arguments: &syn::PathArguments) -> usize {
    match arguments {
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter(|g| matches!(g, syn::GenericArgument::Type(_)))
            .count(),
        _ => 0,
    }
}

/// Where a path stands, which decides what a hash container's path means.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    /// A type: an annotation, a turbofish argument, a cast.
    Type,
    /// A value: a callee, a path expression, a struct literal. `hasher_named`: the call
    /// initialises a `let` whose type gives the hasher (`let m: FixedMap = HashMap::default()`).
    Value { hasher_named: bool },
}

impl Position {
    /// A value whose hasher nothing around it names.
    pub(crate) const VALUE: Position = Position::Value { hasher_named: false };
}

impl Pattern {
    /// Whether a path (its imports resolved), standing at `position`, is what this rejects.
    fn matches_path(&self, path: &[Segment], position: Position) -> bool {
        match *self {
            Pattern::Segments(run) => path.windows(run.len()).any(|w| names_are(w, run)),
            Pattern::Module { path: module, except } => {
                path.len() >= module.len()
                    && names_are(&path[..module.len()], module)
                    && path
                        .get(module.len())
                        .is_none_or(|next| !except.contains(&next.name.as_str()))
            }
            Pattern::DefaultHasher {
                map,
                params,
                constructor: None,
            } => position == Position::Type && path.last().is_some_and(|last| last.name == map && last.args < params),
            Pattern::DefaultHasher {
                map,
                params,
                constructor: Some(constructor),
            } => {
                position == Position::VALUE
                    && path.len() >= 2
                    && names_are(&path[path.len() - 2..], &[map, constructor])
                    && path[path.len() - 2].args < params
            }
            Pattern::Macro { .. } | Pattern::StaticMut => false,
        }
    }

    /// Whether the rule names one item (`thread::spawn`), so a glob import of its module
    /// (`use std::thread::*; spawn(…)`) can supply it.
    pub(crate) fn names_item(&self) -> bool {
        matches!(self, Pattern::Segments(s) if s.len() > 1)
    }

    /// Whether the rule rejects a whole module (and so gives way to a rule on one item in it).
    fn is_module(&self) -> bool {
        matches!(self, Pattern::Module { .. })
    }

    /// Whether this is a hash container written as a type (`HashMap<K, V>`).
    pub(crate) fn is_default_hasher_type(&self) -> bool {
        matches!(self, Pattern::DefaultHasher { constructor: None, .. })
    }
}

fn names_are(segments: &[Segment], names: &[&str]) -> bool {
    segments.len() == names.len() && segments.iter().zip(names).all(|(s, n)| s.name == *n)
}

/// A rule of the table with the group it belongs to, which gives its help.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) group: &'static Group,
    pub(crate) rule: &'static Rule,
}

impl Entry {
    /// The error for code that breaks this rule, `shown` as the path it named.
    pub(crate) fn message(&self, shown: &str) -> String {
        format!(
            "`{shown}` is not allowed in workflow code: it {}\n\
             help: {}\n\
             note: if this is safe on replay, mark the statement (or function, or field) `#[allow_nondeterministic(reason = \"…\")]`",
            self.rule.what, self.group.help
        )
    }

    /// Whether the rule is about hash containers.
    pub(crate) fn is_hash(&self) -> bool {
        self.group.name == HASH
    }
}

/// Every rule, group by group.
pub(crate) fn entries() -> impl Iterator<Item = Entry> {
    GROUPS
        .iter()
        .flat_map(|group| group.rules.iter().map(move |rule| Entry { group, rule }))
}

/// The rule a path breaks, if any. A rule on one item wins over a rule on its whole module
/// (`std::process::id` is an environment read, not a process run).
pub(crate) fn rule_for_path(path: &[Segment], position: Position) -> Option<Entry> {
    let mut matching = entries().filter(|entry| entry.rule.pattern.matches_path(path, position));
    let first = matching.next()?;
    if first.rule.pattern.is_module() {
        Some(matching.find(|entry| !entry.rule.pattern.is_module()).unwrap_or(first))
    } else {
        Some(first)
    }
}

/// The rule on the macro named `name` (its path's last segment); `biased`: its input starts
/// with `biased;`.
pub(crate) fn rule_for_macro(name: &str, biased: bool) -> Option<Entry> {
    entries().find(|entry| {
        matches!(entry.rule.pattern, Pattern::Macro { name: n, unbiased } if n == name && !(unbiased && biased))
    })
}

/// The rule on `static mut`.
pub(crate) fn static_mut_rule() -> Option<Entry> {
    entries().find(|entry| matches!(entry.rule.pattern, Pattern::StaticMut))
}

impl Rule {
    /// How the offending code is named in the error: the path with its imports resolved.
    pub(crate) fn shown(&self, path: &[Segment]) -> String {
        let names: Vec<&str> = path.iter().map(|s| s.name.as_str()).collect();
        let joined = names.join("::");
        match self.pattern {
            Pattern::DefaultHasher { constructor: None, .. } => format!("{joined}<…>"),
            Pattern::Macro { .. } => format!("{joined}!"),
            Pattern::StaticMut => "static mut".to_string(),
            _ => joined,
        }
    }
}

const fn rule(pattern: Pattern, what: &'static str, sample: &'static str) -> Rule {
    Rule { pattern, what, sample }
}

const fn item(segments: &'static [&'static str], what: &'static str, sample: &'static str) -> Rule {
    rule(Pattern::Segments(segments), what, sample)
}

const fn module(path: &'static [&'static str], what: &'static str, sample: &'static str) -> Rule {
    module_except(path, &[], what, sample)
}

const fn module_except(
    path: &'static [&'static str],
    except: &'static [&'static str],
    what: &'static str,
    sample: &'static str,
) -> Rule {
    rule(Pattern::Module { path, except }, what, sample)
}

const fn hasher(
    map: &'static str,
    params: usize,
    constructor: Option<&'static str>,
    what: &'static str,
    sample: &'static str,
) -> Rule {
    rule(
        Pattern::DefaultHasher {
            map,
            params,
            constructor,
        },
        what,
        sample,
    )
}

/// The name of the group of rules on hash containers.
const HASH: &str = "hash";

const READS_CLOCK: &str = "reads the machine's clock";
const WALL_TIMER: &str = "is a wall-clock timer, which replay cannot reproduce";
const UNSEEDED: &str = "draws from an unseeded random source";
const OS_RANDOM: &str = "draws from the operating system's random source";
const OS_SEEDED: &str = "seeds a generator from the operating system's random source";
const ID_FROM_CLOCK: &str = "makes an id from the clock";
const ON_TOKIO: &str = "runs code on tokio, outside the workflow's executor";
const CHANNEL: &str = "is a channel fed outside history";
const FILE_IO: &str = "does file I/O, whose result history does not record";
const NET_IO: &str = "does network I/O, whose result history does not record";
const ENVIRONMENT: &str = "reads the machine's environment, which may differ on replay";
const ARGUMENTS: &str = "reads the process arguments, which may differ on replay";
const FOLDERS: &str = "reads the machine's folders, which may differ on replay";
const MAP_BUILT: &str = "builds a map with the default hasher, seeded randomly per process, \
                         so it iterates in a different order on replay";
const SET_BUILT: &str = "builds a set with the default hasher, seeded randomly per process, \
                         so it iterates in a different order on replay";
const HASHER_UNNAMED: &str = "has the default hasher, seeded randomly per process, \
                              so it iterates in a different order on replay";
const UNRECORDED_STATE: &str = "is state that history does not record";

/// `std::net`'s plain address values: parsing or building one does no I/O.
const NET_VALUES: &[&str] = &[
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
    "SocketAddrV4",
    "SocketAddrV6",
];

/// Every rule, group by group, in the order of the documentation table.
pub(crate) static GROUPS: &[Group] = &[
    Group {
        name: "clock",
        help: "use `ctx.now()`: workflow time comes from history, so every replay sees the same instant",
        doc: "`ctx.now()`",
        rules: &[
            item(
                &["SystemTime", "now"],
                READS_CLOCK,
                "{ let t = std::time::SystemTime::now(); }",
            ),
            item(&["Instant", "now"], READS_CLOCK, "{ let t = Instant::now(); }"),
            item(&["Utc", "now"], READS_CLOCK, "{ let t = chrono::Utc::now(); }"),
            item(&["Local", "now"], READS_CLOCK, "{ let t = chrono::Local::now(); }"),
            item(
                &["OffsetDateTime", "now_utc"],
                READS_CLOCK,
                "{ let t = OffsetDateTime::now_utc(); }",
            ),
            item(
                &["OffsetDateTime", "now_local"],
                READS_CLOCK,
                "{ let t = time::OffsetDateTime::now_local(); }",
            ),
        ],
    },
    Group {
        name: "sleep",
        help: "use `ctx.sleep(duration)`: a durable timer the server keeps, which survives restarts",
        doc: "`ctx.sleep(duration)`",
        rules: &[
            item(
                &["thread", "sleep"],
                "blocks the thread for a wall-clock time",
                "{ std::thread::sleep(d); }",
            ),
            module_except(
                &["tokio", "time"],
                &["Duration", "Instant"],
                "is a tokio timer, which replay cannot reproduce",
                "{ tokio::time::sleep(d).await; }",
            ),
            module(
                &["futures_timer"],
                WALL_TIMER,
                "{ futures_timer::Delay::new(d).await; }",
            ),
            item(
                &["async_std", "task", "sleep"],
                WALL_TIMER,
                "{ async_std::task::sleep(d).await; }",
            ),
        ],
    },
    Group {
        name: "random",
        help: "use `ctx.random()`, or a generator seeded from it (`StdRng::seed_from_u64(ctx.random())`): \
               seeded per run, so every replay draws the same numbers",
        doc: "`ctx.random()`, or a generator seeded from it",
        rules: &[
            item(&["rand", "random"], UNSEEDED, "{ let x: u8 = rand::random(); }"),
            item(&["rand", "rng"], UNSEEDED, "{ let r = rand::rng(); }"),
            item(&["thread_rng"], UNSEEDED, "{ let r = rand::thread_rng(); }"),
            item(&["from_entropy"], OS_SEEDED, "{ let r = StdRng::from_entropy(); }"),
            item(&["from_os_rng"], OS_SEEDED, "{ let r = SmallRng::from_os_rng(); }"),
            item(&["OsRng"], OS_RANDOM, "{ let r = OsRng; }"),
            module(&["getrandom"], OS_RANDOM, "{ getrandom::fill(&mut buf)?; }"),
            module_except(&["fastrand"], &["Rng"], UNSEEDED, "{ let n = fastrand::u32(..); }"),
            item(
                &["fastrand", "Rng", "new"],
                "makes a generator with a random seed",
                "{ let r = fastrand::Rng::new(); }",
            ),
        ],
    },
    Group {
        name: "uuid",
        help: "use `ctx.uuid()`: seeded per run, so every replay makes the same id",
        doc: "`ctx.uuid()`",
        rules: &[
            item(
                &["Uuid", "new_v4"],
                "makes a random id",
                "{ let id = uuid::Uuid::new_v4(); }",
            ),
            item(&["Uuid", "now_v7"], ID_FROM_CLOCK, "{ let id = Uuid::now_v7(); }"),
            item(&["Uuid", "now_v6"], ID_FROM_CLOCK, "{ let id = Uuid::now_v6(&node); }"),
            item(&["Uuid", "now_v1"], ID_FROM_CLOCK, "{ let id = Uuid::now_v1(&node); }"),
        ],
    },
    Group {
        name: "spawn",
        help: "run the futures together in the workflow with `futures::join!` or `futures::future::join_all`, \
               which the workflow's own executor polls in order",
        doc: "`futures::join!`, `join_all`",
        rules: &[
            item(&["tokio", "spawn"], ON_TOKIO, "{ tokio::spawn(async {}); }"),
            module(&["tokio", "task"], ON_TOKIO, "{ tokio::task::spawn_local(async {}); }"),
            item(&["JoinSet"], ON_TOKIO, "{ let s = JoinSet::new(); }"),
        ],
    },
    Group {
        name: "select",
        help: "start it with `biased;`, or use `futures::select_biased!` or `futures::future::select`, \
               which poll in a fixed order",
        doc: "`biased;`, `select_biased!`",
        rules: &[rule(
            Pattern::Macro {
                name: "select",
                unbiased: true,
            },
            "picks among ready branches at random",
            "{ tokio::select! { _ = a => {} } }",
        )],
    },
    Group {
        name: "threads",
        help: "do CPU-heavy or blocking work in an activity and call it with `ctx.activity(…)`: \
               the worker runs it on its own threads and history records its result",
        doc: "an activity",
        rules: &[
            item(
                &["thread", "spawn"],
                "runs code on another thread, outside history",
                "{ std::thread::spawn(|| {}); }",
            ),
            item(
                &["thread", "scope"],
                "runs code on other threads, outside history",
                "{ std::thread::scope(|s| { s.spawn(|| {}); }); }",
            ),
            item(
                &["thread", "Builder"],
                "starts a thread, which runs outside history",
                "{ let t = std::thread::Builder::new().spawn(|| {}); }",
            ),
            item(
                &["spawn_blocking"],
                "runs blocking code on tokio's thread pool, outside history",
                "{ let h = tokio::task::spawn_blocking(|| 1); }",
            ),
            item(
                &["block_in_place"],
                "blocks the thread the workflow's executor runs on",
                "{ let n = tokio::task::block_in_place(|| 1); }",
            ),
        ],
    },
    Group {
        name: "sync",
        help: "communicate through signals and `ctx.wait_condition(|state| …)`, which history records",
        doc: "signals and `ctx.wait_condition`",
        rules: &[
            module(
                &["tokio", "sync"],
                "is a tokio channel or lock, woken outside history",
                "{ let total = tokio::sync::Mutex::new(0); }",
            ),
            item(
                &["mpsc", "channel"],
                CHANNEL,
                "{ let (tx, rx) = std::sync::mpsc::channel(); }",
            ),
            item(
                &["mpsc", "sync_channel"],
                CHANNEL,
                "{ let (tx, rx) = std::sync::mpsc::sync_channel(1); }",
            ),
            module(
                &["crossbeam_channel"],
                CHANNEL,
                "{ let (tx, rx) = crossbeam_channel::unbounded(); }",
            ),
        ],
    },
    Group {
        name: "io",
        help: "do I/O in an activity and call it with `ctx.activity(…)`: its result is recorded in history",
        doc: "an activity",
        rules: &[
            module(&["std", "fs"], FILE_IO, "{ let text = std::fs::read_to_string(p); }"),
            module(
                &["tokio", "fs"],
                FILE_IO,
                "{ let text = tokio::fs::read_to_string(p).await; }",
            ),
            module_except(
                &["std", "net"],
                NET_VALUES,
                NET_IO,
                "{ let l = std::net::UdpSocket::bind(a); }",
            ),
            module(
                &["tokio", "net"],
                NET_IO,
                "{ let l = tokio::net::TcpListener::bind(a).await; }",
            ),
            module(&["reqwest"], NET_IO, "{ let r = reqwest::get(url).await; }"),
            module(
                &["std", "process"],
                "runs a process, whose result history does not record",
                "{ let o = std::process::Command::new(\"ls\"); }",
            ),
            item(
                &["io", "stdin"],
                "reads input, which history does not record",
                "{ let line = std::io::stdin().lines().next(); }",
            ),
            item(&["File", "open"], FILE_IO, "{ let f = File::open(p); }"),
            item(&["File", "create"], FILE_IO, "{ let f = File::create(p); }"),
            item(&["TcpStream", "connect"], NET_IO, "{ let s = TcpStream::connect(a); }"),
        ],
    },
    Group {
        name: "env",
        help: "pass the value as workflow input (or read it in an activity)",
        doc: "workflow input, or an activity",
        rules: &[
            item(&["env", "var"], ENVIRONMENT, "{ let v = std::env::var(\"HOME\"); }"),
            item(&["env", "var_os"], ENVIRONMENT, "{ let v = env::var_os(\"HOME\"); }"),
            item(
                &["env", "vars"],
                ENVIRONMENT,
                "{ let all: Vec<_> = env::vars().collect(); }",
            ),
            item(
                &["env", "vars_os"],
                ENVIRONMENT,
                "{ let all: Vec<_> = std::env::vars_os().collect(); }",
            ),
            item(&["env", "args"], ARGUMENTS, "{ let first = std::env::args().nth(1); }"),
            item(
                &["env", "args_os"],
                ARGUMENTS,
                "{ let first = std::env::args_os().nth(1); }",
            ),
            item(
                &["env", "current_dir"],
                "reads the working directory, which may differ on replay",
                "{ let cwd = std::env::current_dir(); }",
            ),
            item(
                &["env", "current_exe"],
                "reads the program's path, which may differ on replay",
                "{ let exe = std::env::current_exe(); }",
            ),
            item(&["env", "temp_dir"], FOLDERS, "{ let tmp = std::env::temp_dir(); }"),
            item(&["env", "home_dir"], FOLDERS, "{ let home = std::env::home_dir(); }"),
            item(
                &["process", "id"],
                "reads the process id, which differs on replay",
                "{ let pid = std::process::id(); }",
            ),
        ],
    },
    Group {
        name: HASH,
        help: "use `BTreeMap` / `BTreeSet`, or name a fixed hasher (`HashMap<K, V, BuildHasherDefault<H>>`): \
               then every replay iterates in the same order",
        doc: "`BTreeMap`, `BTreeSet`, or a fixed hasher",
        rules: &[
            item(&["HashMap", "new"], MAP_BUILT, "{ let mut counts = HashMap::new(); }"),
            item(
                &["HashMap", "with_capacity"],
                MAP_BUILT,
                "{ let m = HashMap::with_capacity(4); }",
            ),
            item(&["HashMap", "from"], MAP_BUILT, "{ let m = HashMap::from([(1, 2)]); }"),
            hasher(
                "HashMap",
                3,
                Some("default"),
                MAP_BUILT,
                "{ ctx.state_mut(|s| s.seen = HashMap::default()); }",
            ),
            hasher(
                "HashMap",
                3,
                Some("from_iter"),
                MAP_BUILT,
                "{ ctx.state_mut(|s| s.seen = HashMap::from_iter(pairs)); }",
            ),
            hasher(
                "HashMap",
                3,
                None,
                HASHER_UNNAMED,
                "{ let m = pairs.into_iter().collect::<HashMap<_, _>>(); }",
            ),
            item(&["HashSet", "new"], SET_BUILT, "{ let mut seen = HashSet::new(); }"),
            item(
                &["HashSet", "with_capacity"],
                SET_BUILT,
                "{ let s = HashSet::with_capacity(4); }",
            ),
            item(&["HashSet", "from"], SET_BUILT, "{ let s = HashSet::from([1, 2]); }"),
            hasher(
                "HashSet",
                2,
                Some("default"),
                SET_BUILT,
                "{ ctx.state_mut(|s| s.seen = HashSet::default()); }",
            ),
            hasher(
                "HashSet",
                2,
                Some("from_iter"),
                SET_BUILT,
                "{ ctx.state_mut(|s| s.seen = HashSet::from_iter(ids)); }",
            ),
            hasher(
                "HashSet",
                2,
                None,
                HASHER_UNNAMED,
                "{ let s: HashSet<_> = ids.into_iter().collect(); }",
            ),
            item(
                &["RandomState"],
                "is the default hasher, seeded randomly per process",
                "{ let s = std::hash::RandomState::new(); }",
            ),
        ],
    },
    Group {
        name: "state",
        help: "keep the value in the workflow's state (`ctx.state_mut(|s| …)`)",
        doc: "the workflow's state",
        rules: &[
            rule(Pattern::StaticMut, UNRECORDED_STATE, "{ static mut COUNT: u32 = 0; }"),
            rule(
                Pattern::Macro {
                    name: "thread_local",
                    unbiased: false,
                },
                UNRECORDED_STATE,
                "{ thread_local! { static LAST: u8 = 0; } }",
            ),
        ],
    },
];
