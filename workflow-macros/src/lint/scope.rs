//! What a path names: the `use` items the macro can see, and the names the checked code
//! declares itself (a local `SystemTime` or `thread_rng` is not the one a rule is about).

use super::rules::{self, Entry, Position, Segment};
use std::collections::{BTreeMap, BTreeSet};
use syn::visit::Visit;

/// What the `use` items the macro can see bring into scope: `use std::time::SystemTime as
/// Clock;` maps `Clock` to `std::time::SystemTime`, `use std::fs;` maps `fs` to `std::fs`, and
/// `use std::thread::*;` makes `spawn(…)` a candidate for `std::thread::spawn`; and the names
/// declared around the checked code (a module's items, a function's parameters).
#[derive(Default, Clone)]
pub(crate) struct Scope {
    aliases: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    declared: Names,
}

impl Scope {
    /// The scope a module's items make: their `use` items, and the names they declare.
    pub(crate) fn of_items(items: &[syn::Item]) -> Scope {
        let mut scope = Scope::default();
        for item in items {
            match item {
                syn::Item::Use(u) => scope.add_use(&[], &u.tree),
                other => scope.declared.add_item(other),
            }
        }
        scope
    }

    /// Adds a function's parameters to the names declared around its body.
    pub(crate) fn with_params(mut self, sig: &syn::Signature) -> Scope {
        self.declared.add_params(sig);
        self
    }

    /// Adds the `use` items inside `block` (not those of the modules and impls nested in it,
    /// whose imports are their own).
    pub(super) fn with_uses_in(mut self, block: &syn::Block) -> Scope {
        struct Uses<'s>(&'s mut Scope);
        impl<'ast> Visit<'ast> for Uses<'_> {
            fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
                self.0.add_use(&[], &u.tree);
            }
            fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
            fn visit_item_impl(&mut self, _: &'ast syn::ItemImpl) {}
        }
        Uses(&mut self).visit_block(block);
        self
    }

    /// The names declared around the checked code.
    pub(super) fn declared(&self) -> &Names {
        &self.declared
    }

    fn add_use(&mut self, prefix: &[String], tree: &syn::UseTree) {
        let with = |last: &syn::Ident| {
            let mut full = prefix.to_vec();
            full.push(last.to_string());
            full
        };
        match tree {
            syn::UseTree::Path(p) => self.add_use(&with(&p.ident), &p.tree),
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
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.add_use(prefix, t)),
            syn::UseTree::Glob(_) => self.globs.push(prefix.to_vec()),
        }
    }

    /// The rule `path` breaks, with the path it names: through an alias if its first segment
    /// is one; else as written and, when `globs` allows, under each glob import.
    ///
    /// Which glob supplies a name is unknown to a macro, so under a glob only a rule that
    /// names the item itself counts (`use std::thread::*; spawn(…)`), or a rule on a whole
    /// module for a function name (`use tokio::time::*; sleep(…)`) — never for a type or a
    /// variant (`Ok`, `Duration`), which far more often come from elsewhere.
    pub(super) fn rule_for(&self, path: &syn::Path, position: Position, globs: Globs) -> Option<(Vec<Segment>, Entry)> {
        let written = rules::segments_of(path);
        if let Some(full) = self.through_alias(path, &written) {
            return rules::rule_for_path(&full, position).map(|entry| (full, entry));
        }
        if let Some(entry) = rules::rule_for_path(&written, position) {
            return Some((written, entry));
        }
        if globs == Globs::No || path.leading_colon.is_some() {
            return None;
        }
        let function_name = globs == Globs::ItemsAndFunctions
            && written.len() == 1
            && written[0].name.starts_with(|c: char| c.is_ascii_lowercase());
        self.globs.iter().find_map(|glob| {
            let full: Vec<Segment> = glob
                .iter()
                .map(|n| Segment::plain(n))
                .chain(written.iter().cloned())
                .collect();
            let entry = rules::rule_for_path(&full, position)?;
            (entry.rule.pattern.names_item() || function_name).then_some((full, entry))
        })
    }

    /// `written` with its first segment replaced by what the alias of that name imports (its
    /// generic arguments kept on the alias's last segment), if there is such an alias.
    fn through_alias(&self, path: &syn::Path, written: &[Segment]) -> Option<Vec<Segment>> {
        let (first, rest) = written.split_first()?;
        let imported = self.aliases.get(&first.name).filter(|_| path.leading_colon.is_none())?;
        let mut full: Vec<Segment> = imported.iter().map(|n| Segment::plain(n)).collect();
        if let Some(last) = full.last_mut() {
            last.args = first.args;
        }
        full.extend(rest.iter().cloned());
        Some(full)
    }
}

/// Which paths may be resolved under glob imports (see [`Scope::rule_for`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Globs {
    /// A bare value: far more often a local binding than an import.
    No,
    /// A type, a struct literal, a path of several segments: rules naming the item itself.
    ItemsOnly,
    /// A callee: also a module-wide rule for a function name (`sleep(…)` under `tokio::time::*`).
    ItemsAndFunctions,
}

/// The names one scope declares, by namespace.
#[derive(Default, Clone)]
pub(crate) struct Names {
    /// Bindings, parameters, functions, constants and statics.
    values: BTreeSet<String>,
    /// Types, traits and modules.
    types: BTreeSet<String>,
}

impl Names {
    /// The items among a block's statements: each is visible in the whole block.
    pub(super) fn of_items_in(stmts: &[syn::Stmt]) -> Names {
        let mut names = Names::default();
        for stmt in stmts {
            if let syn::Stmt::Item(item) = stmt {
                names.add_item(item);
            }
        }
        names
    }

    /// The bindings a pattern makes.
    pub(super) fn of_pattern(pat: &syn::Pat) -> Names {
        let mut names = Names::default();
        names.add_bindings(pat);
        names
    }

    /// The parameters of a closure.
    pub(super) fn of_closure(closure: &syn::ExprClosure) -> Names {
        let mut names = Names::default();
        closure.inputs.iter().for_each(|pat| names.add_bindings(pat));
        names
    }

    /// The parameters of a function.
    pub(super) fn of_params(sig: &syn::Signature) -> Names {
        let mut names = Names::default();
        names.add_params(sig);
        names
    }

    fn add_params(&mut self, sig: &syn::Signature) {
        for input in &sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                self.add_bindings(&t.pat);
            }
        }
    }

    fn add_item(&mut self, item: &syn::Item) {
        let (namespace, ident) = match item {
            syn::Item::Fn(f) => (&mut self.values, &f.sig.ident),
            syn::Item::Const(c) => (&mut self.values, &c.ident),
            syn::Item::Static(s) => (&mut self.values, &s.ident),
            syn::Item::Struct(s) => (&mut self.types, &s.ident),
            syn::Item::Enum(e) => (&mut self.types, &e.ident),
            syn::Item::Union(u) => (&mut self.types, &u.ident),
            syn::Item::Trait(t) => (&mut self.types, &t.ident),
            syn::Item::TraitAlias(t) => (&mut self.types, &t.ident),
            syn::Item::Type(t) => (&mut self.types, &t.ident),
            syn::Item::Mod(m) => (&mut self.types, &m.ident),
            _ => return,
        };
        namespace.insert(ident.to_string());
    }

    /// Adds the bindings `pat` makes. A capitalised name in a pattern is taken for a constant
    /// or a unit variant (`None`), as rustc reads it when one is in scope.
    pub(super) fn add_bindings(&mut self, pat: &syn::Pat) {
        struct Bindings<'n>(&'n mut BTreeSet<String>);
        impl<'ast> Visit<'ast> for Bindings<'_> {
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                let name = p.ident.to_string();
                if !name.starts_with(|c: char| c.is_uppercase()) {
                    self.0.insert(name);
                }
                syn::visit::visit_pat_ident(self, p);
            }
        }
        Bindings(&mut self.values).visit_pat(pat);
    }

    /// Whether `path` names something declared here rather than what a rule is about: a
    /// local type or module as its first segment (`SystemTime::now` with a local `struct
    /// SystemTime`), or a local value as the whole path (`thread_rng()` with a local closure).
    pub(super) fn declares(&self, path: &syn::Path) -> bool {
        let Some(first) = path.segments.first().filter(|_| path.leading_colon.is_none()) else {
            return false;
        };
        let first = first.ident.to_string();
        self.types.contains(&first) || (path.segments.len() == 1 && self.values.contains(&first))
    }
}
