//! The determinism lint: calls and types that would make a replay differ from the first run,
//! each reported on its own tokens with the replacement to use.
//!
//! A proc macro sees tokens, not types, so the rules match paths as written (`SystemTime::now`,
//! `std::time::SystemTime::now`, `tokio::time::sleep`, …), resolved through the `use` items
//! the macro can see, and leave alone the names the checked code declares itself. The runtime
//! backs the lint up: a replay that issues other commands than history recorded fails the
//! workflow task.
//!
//! - [`rules`]: the rule table, each rule with the sample it fires on;
//! - [`scope`]: imports and local names, which decide what a path names;
//! - [`visitor`]: the walk over workflow code;
//! - [`escape`]: the `#[allow_nondeterministic(reason = "…")]` escape hatch.

mod escape;
mod rules;
mod scope;
mod visitor;

#[cfg(test)]
mod tests;

pub(crate) use escape::{fn_escape_hatch, strip_escape_hatches};
pub(crate) use scope::Scope;

use crate::errors::Errors;
use syn::visit::Visit;

/// The inert attribute that allows one statement to break a rule, with a visible reason.
pub(crate) const ESCAPE_HATCH: &str = "allow_nondeterministic";

/// Checks a block of workflow code that sits in `outer` (a function's parameters, and a
/// `#[deterministic]` module's `use` items and declarations), adding one error per offence.
pub(crate) fn check_block_in(block: &syn::Block, outer: &Scope, errors: &mut Errors) {
    for finding in findings_in(block, outer) {
        errors.push(finding.error);
    }
}

/// Checks the field types of a workflow's state struct: state is workflow code's memory, so a
/// `HashMap` with the random hasher (iterated in a handler), a channel or a tokio type there
/// breaks replay as it would in a `let`. A field opts out with the escape hatch (checked for
/// its reason, then removed).
pub(crate) fn check_state_fields(fields: &mut syn::Fields, errors: &mut Errors) {
    let scope = Scope::default();
    for field in fields.iter_mut() {
        if fn_escape_hatch(&mut field.attrs, errors) {
            continue;
        }
        let mut lint = visitor::Lint::new(&scope);
        lint.visit_type(&field.ty);
        errors.extend_with(lint.findings.into_iter().map(|f| f.error));
    }
}

/// What the lint finds in `block`, in source order.
fn findings_in(block: &syn::Block, outer: &Scope) -> Vec<visitor::Finding> {
    let scope = outer.clone().with_uses_in(block);
    let mut lint = visitor::Lint::new(&scope);
    lint.visit_block(block);
    lint.findings
}
