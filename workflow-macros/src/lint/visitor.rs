//! The walk over workflow code: each path, type, macro and `static mut` is looked up in the
//! rule table, with the names the code declares in scope as it goes (a binding is visible
//! after its `let`, a block's items in the whole block, a closure's parameters in its body).

use super::escape::{escape_hatch, statement_attrs};
use super::rules::{self, Entry, Position};
use super::scope::{Globs, Names, Scope};
use quote::ToTokens;
use syn::visit::Visit;

/// One error the walk found, with the rule it breaks (none for a misused escape hatch).
pub(super) struct Finding {
    pub(super) entry: Option<Entry>,
    pub(super) error: syn::Error,
}

impl Finding {
    /// Whether it breaks a rule on hash containers.
    fn is_hash(&self) -> bool {
        self.entry.is_some_and(|entry| entry.is_hash())
    }

    /// Whether it is a hash container written as a type with the default hasher.
    fn is_default_hasher_type(&self) -> bool {
        self.entry
            .is_some_and(|entry| entry.rule.pattern.is_default_hasher_type())
    }
}

/// The walk over one block of workflow code.
pub(super) struct Lint<'s> {
    scope: &'s Scope,
    /// The names declared in the scopes around the code being walked, innermost last.
    locals: Vec<Names>,
    pub(super) findings: Vec<Finding>,
}

impl<'s> Lint<'s> {
    /// A walk in `scope`, with nothing found yet.
    pub(super) fn new(scope: &'s Scope) -> Lint<'s> {
        Lint {
            scope,
            locals: vec![scope.declared().clone()],
            findings: Vec::new(),
        }
    }

    /// Reports `path` if what it names breaks a rule (and is not declared by the code itself).
    fn check_path(&mut self, path: &syn::Path, position: Position, globs: Globs) {
        if self.locals.iter().any(|names| names.declares(path)) {
            return;
        }
        if let Some((segments, entry)) = self.scope.rule_for(path, position, globs) {
            self.report(entry, path, &entry.rule.shown(&segments));
        }
    }

    /// Records an error on `tokens` for breaking `entry`'s rule.
    fn report(&mut self, entry: Entry, tokens: &dyn ToTokens, shown: &str) {
        self.findings.push(Finding {
            entry: Some(entry),
            error: syn::Error::new_spanned(tokens, entry.message(shown)),
        });
    }

    /// Walks `walk` with `names` declared, then forgets them.
    fn within(&mut self, names: Names, walk: impl FnOnce(&mut Self)) {
        self.locals.push(names);
        walk(self);
        self.locals.pop();
    }

    /// Runs `walk` and returns what it found, apart from the findings so far.
    fn found_by(&mut self, walk: impl FnOnce(&mut Self)) -> Vec<Finding> {
        let before = self.findings.len();
        walk(self);
        self.findings.split_off(before)
    }

    /// Checks a call; `hasher_named`: it initialises a `let` whose type gives the hasher.
    fn check_call(&mut self, call: &syn::ExprCall, hasher_named: bool) {
        match &*call.func {
            syn::Expr::Path(callee) if callee.qself.is_none() => {
                self.check_path(&callee.path, Position::Value { hasher_named }, Globs::ItemsAndFunctions);
                syn::visit::visit_path(self, &callee.path);
            }
            other => self.visit_expr(other),
        }
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }

    /// Checks a `let`'s value, whose type the annotation may give.
    fn check_init(&mut self, init: &syn::LocalInit, hasher_named: bool) {
        match &*init.expr {
            syn::Expr::Call(call) => self.check_call(call, hasher_named),
            other => self.visit_expr(other),
        }
        if let Some((_, diverge)) = &init.diverge {
            self.visit_expr(diverge);
        }
    }
}

impl<'ast> Visit<'ast> for Lint<'_> {
    fn visit_block(&mut self, block: &'ast syn::Block) {
        self.within(Names::of_items_in(&block.stmts), |lint| {
            syn::visit::visit_block(lint, block)
        });
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        match statement_attrs(stmt).and_then(|attrs| escape_hatch(attrs)) {
            None => syn::visit::visit_stmt(self, stmt),
            Some(Ok(())) => {}
            Some(Err(missing_reason)) => self.findings.push(Finding {
                entry: None,
                error: missing_reason,
            }),
        }
    }

    /// `let m: HashMap<K, V> = HashMap::new();` is one error, on the constructor; and
    /// `let m: FixedMap = HashMap::default();` none: the annotation gives the hasher.
    fn visit_local(&mut self, local: &'ast syn::Local) {
        let mut annotation = self.found_by(|lint| lint.visit_pat(&local.pat));
        let annotated = matches!(local.pat, syn::Pat::Type(_));
        let hasher_named = annotated && !annotation.iter().any(Finding::is_default_hasher_type);
        let value = match &local.init {
            Some(init) => self.found_by(|lint| lint.check_init(init, hasher_named)),
            None => Vec::new(),
        };
        if value.iter().any(Finding::is_hash) {
            annotation.retain(|finding| !finding.is_default_hasher_type());
        }
        self.findings.extend(annotation.into_iter().chain(value));
        if let Some(names) = self.locals.last_mut() {
            names.add_bindings(&local.pat);
        }
    }

    fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
        self.within(Names::of_closure(closure), |lint| {
            syn::visit::visit_expr_closure(lint, closure)
        });
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        self.within(Names::of_pattern(&arm.pat), |lint| syn::visit::visit_arm(lint, arm));
    }

    fn visit_expr_for_loop(&mut self, for_loop: &'ast syn::ExprForLoop) {
        self.visit_expr(&for_loop.expr);
        self.within(Names::of_pattern(&for_loop.pat), |lint| {
            lint.visit_pat(&for_loop.pat);
            lint.visit_block(&for_loop.body);
        });
    }

    /// `if let` and `while let`: the bindings are taken as visible for the rest of the block.
    fn visit_expr_let(&mut self, expr: &'ast syn::ExprLet) {
        syn::visit::visit_expr_let(self, expr);
        if let Some(names) = self.locals.last_mut() {
            names.add_bindings(&expr.pat);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.within(Names::of_params(&f.sig), |lint| syn::visit::visit_item_fn(lint, f));
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
        self.check_call(call, false);
    }

    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        let globs = if e.path.segments.len() > 1 {
            Globs::ItemsOnly
        } else {
            Globs::No
        };
        self.check_path(&e.path, Position::VALUE, globs);
        syn::visit::visit_expr_path(self, e);
    }

    fn visit_expr_struct(&mut self, e: &'ast syn::ExprStruct) {
        self.check_path(&e.path, Position::VALUE, Globs::ItemsOnly);
        syn::visit::visit_expr_struct(self, e);
    }

    fn visit_type_path(&mut self, t: &'ast syn::TypePath) {
        if t.qself.is_none() {
            self.check_path(&t.path, Position::Type, Globs::ItemsOnly);
        }
        syn::visit::visit_type_path(self, t);
    }

    // `use` items are where names come from, not uses of them.
    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {}

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let name = m.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        let biased = m
            .tokens
            .clone()
            .into_iter()
            .next()
            .is_some_and(|t| t.to_string() == "biased");
        if let Some(entry) = rules::rule_for_macro(&name, biased) {
            self.report(entry, &m.path, &entry.rule.shown(&rules::segments_of(&m.path)));
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
        if let (syn::StaticMutability::Mut(mutability), Some(entry)) = (&s.mutability, rules::static_mut_rule()) {
            let static_token = &s.static_token;
            self.report(entry, &quote::quote!(#static_token #mutability), &entry.rule.shown(&[]));
        }
        syn::visit::visit_item_static(self, s);
    }

    // Closures and nested functions are workflow code too, and are visited by default; nested
    // items like `impl` blocks or modules are not workflow code.
    fn visit_item_impl(&mut self, _: &'ast syn::ItemImpl) {}
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
}
