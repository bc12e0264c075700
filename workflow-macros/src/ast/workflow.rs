//! The model of a `#[workflow]` impl block: its entry point and its handlers, each read from
//! its method together with the checks that concern that method alone.

use crate::check;
use crate::errors::Errors;
use crate::options::{HandlerArgs, WorkflowArgs, parse_args};
use crate::signature::{owned_args, receiver, require_context_first, result_ok_type, result_output};
use crate::{signature, symbol};
use proc_macro2::TokenStream;

/// What a `#[workflow]` impl block declares.
pub(crate) struct WorkflowImpl {
    /// The workflow's type, when the impl is on a plain path (`impl Name`).
    pub(crate) ident: Option<syn::Ident>,
    /// The wire name: `name = "…"`, else the type's name.
    pub(crate) wire_name: String,
    /// The entry point, when it is declared once and sound.
    pub(crate) run: Option<Run>,
    /// The methods marked `#[run]`, sound or not.
    pub(crate) run_methods: Vec<syn::Ident>,
    /// A method takes the name of a generated associated function: nothing can be generated.
    pub(crate) generated_name_taken: bool,
    pub(crate) signals: Vec<Handler>,
    pub(crate) queries: Vec<Handler>,
    pub(crate) updates: Vec<Handler>,
}

impl WorkflowImpl {
    /// The entry point, when there is exactly one and everything can be generated from it.
    pub(crate) fn usable_run(&self) -> Option<&Run> {
        (self.run_methods.len() == 1 && !self.generated_name_taken)
            .then_some(self.run.as_ref())
            .flatten()
    }

    /// Every handler (signals, queries, updates), for the checks across them.
    pub(crate) fn handlers(&self) -> impl Iterator<Item = &Handler> {
        self.signals.iter().chain(&self.queries).chain(&self.updates)
    }
}

/// The `#[run]` method.
pub(crate) struct Run {
    pub(crate) method: syn::Ident,
    pub(crate) arg_types: Vec<syn::Type>,
    /// The workflow's result type.
    pub(crate) output: syn::Type,
}

/// A signal, query or update handler.
pub(crate) struct Handler {
    pub(crate) method: syn::Ident,
    pub(crate) wire_name: String,
    pub(crate) arg_types: Vec<syn::Type>,
    /// What the caller gets: `()` for signals, the answer for queries and updates.
    pub(crate) output: syn::Type,
    /// Whether the method returns a `Result` (else its value is the answer).
    pub(crate) fallible: bool,
    /// Updates: the method that may reject the update first.
    pub(crate) validator: Option<syn::Ident>,
    /// An `async fn` taking the context: workflow code that runs beside `run`.
    pub(crate) is_async: bool,
    /// The method's doc comment: the handler's description in the workflow's metadata.
    pub(crate) description: String,
}

/// The attribute that makes a method a handler.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum HandlerKind {
    Run,
    Signal,
    Query,
    Update,
}

impl HandlerKind {
    /// The kind an attribute marks, if it is `#[run]`, `#[signal]`, `#[query]` or `#[update]`.
    pub(crate) fn of(attr: &syn::Attribute) -> Option<Self> {
        let path = attr.path();
        [
            (symbol::RUN, Self::Run),
            (symbol::SIGNAL, Self::Signal),
            (symbol::QUERY, Self::Query),
            (symbol::UPDATE, Self::Update),
        ]
        .into_iter()
        .find_map(|(name, kind)| path.is_ident(name).then_some(kind))
    }
}

const SYNC_STATE_ONLY: &str = "take the context, not `self` (`ctx: WorkflowContext<Self>`), and reach the \
                               state with `ctx.state_mut(|s| …)`, so no borrow is held across an `.await`";
pub(crate) const BORROWED_ARG: &str = "handler arguments are decoded from payloads and must be owned: remove the `&`";

/// Where a workflow's methods are declared, which decides how their signatures read.
#[derive(Clone, Copy)]
pub(crate) enum Declared<'a> {
    /// In a `#[workflow]` impl block: methods with bodies, taking `self` or the context first.
    Impl {
        /// The path generated code names things through.
        private: &'a TokenStream,
    },
    /// In a `#[workflow_interface]` trait: the signatures a caller sees, nothing more.
    Interface,
}

/// Reads the impl block into the model, reporting what is wrong with each method, and removes
/// the handler attributes (they are not attributes rustc knows once expanded).
pub(crate) fn read(
    imp: &mut syn::ItemImpl,
    options: &WorkflowArgs,
    private: &TokenStream,
    errors: &mut Errors,
) -> WorkflowImpl {
    let ident = self_ident(imp, errors);
    let methods = imp.items.iter_mut().filter_map(|item| match item {
        syn::ImplItem::Fn(f) => Some((&mut f.attrs, &f.sig)),
        _ => None,
    });
    read_methods(ident, options, methods, Declared::Impl { private }, errors)
}

/// Reads a workflow's methods (their attributes and signatures) into the model, reporting what
/// is wrong with each, and removes the handler attributes.
pub(crate) fn read_methods<'m>(
    ident: Option<syn::Ident>,
    options: &WorkflowArgs,
    methods: impl Iterator<Item = (&'m mut Vec<syn::Attribute>, &'m syn::Signature)>,
    declared: Declared<'_>,
    errors: &mut Errors,
) -> WorkflowImpl {
    let mut model = WorkflowImpl {
        wire_name: options
            .name
            .clone()
            .or_else(|| ident.as_ref().map(ToString::to_string))
            .unwrap_or_default(),
        ident,
        run: None,
        run_methods: Vec::new(),
        generated_name_taken: false,
        signals: Vec::new(),
        queries: Vec::new(),
        updates: Vec::new(),
    };
    for (attrs, sig) in methods {
        // An interface's methods are stubs on the handle, not functions of the workflow type.
        if matches!(declared, Declared::Impl { .. }) && check::takes_generated_name(sig, errors) {
            model.generated_name_taken = true;
        }
        let kinds: Vec<(usize, HandlerKind)> = attrs
            .iter()
            .enumerate()
            .filter_map(|(i, a)| HandlerKind::of(a).map(|k| (i, k)))
            .collect();
        let Some(&(attr_index, kind)) = kinds.first() else {
            if matches!(declared, Declared::Interface) {
                errors.push(crate::ast::interface::unmarked(sig));
            }
            continue;
        };
        let attr = attrs[attr_index].clone();
        let second_kind = kinds.get(1).map(|&(i, _)| attrs[i].clone());
        attrs.retain(|a| HandlerKind::of(a).is_none());
        let attrs = &*attrs;
        if kind == HandlerKind::Run {
            let first_run = model.run_methods.first().cloned();
            model.run_methods.push(sig.ident.clone());
            let run = errors.isolate(|e| {
                one_kind(second_kind.as_ref(), e);
                let _ = handler_options(&attr, kind, e);
                not_generic(sig, e);
                if let Some(first) = first_run {
                    e.push(syn::Error::new_spanned(
                        &attr,
                        format!("a workflow has one `#[run]`; `{first}` is already the entry point"),
                    ));
                }
                match declared {
                    Declared::Impl { private } => read_run(sig, private, e),
                    Declared::Interface => crate::ast::interface::read_run(sig, e),
                }
            });
            model.run = run.flatten().filter(|_| model.run_methods.len() == 1);
            continue;
        }
        let handler = errors.isolate(|e| {
            one_kind(second_kind.as_ref(), e);
            let options = handler_options(&attr, kind, e);
            not_generic(sig, e);
            let wire_name = options.name.clone().unwrap_or_else(|| sig.ident.to_string());
            let (shape, skipped) = match declared {
                Declared::Impl { .. } => {
                    let shape = match kind {
                        HandlerKind::Signal if sig.asyncness.is_some() => read_async_signal(sig, e),
                        HandlerKind::Signal | HandlerKind::Query => read_sync_signal_or_query(sig, kind, e),
                        _ => read_update(sig, e),
                    };
                    (shape, 1)
                }
                Declared::Interface => (crate::ast::interface::read_handler(sig, kind, &options, e), 0),
            };
            check::hides_handle_method(sig, &wire_name, e);
            Handler {
                method: sig.ident.clone(),
                wire_name,
                arg_types: owned_args(sig, skipped, BORROWED_ARG, e),
                output: shape.output,
                fallible: shape.fallible,
                validator: options.validator,
                is_async: sig.asyncness.is_some(),
                description: signature::doc_text(attrs),
            }
        });
        match (kind, handler) {
            (HandlerKind::Signal, Some(h)) => model.signals.push(h),
            (HandlerKind::Query, Some(h)) => model.queries.push(h),
            (HandlerKind::Update, Some(h)) => model.updates.push(h),
            _ => {}
        }
    }
    model
}

/// The workflow's type from `impl Name`, refusing generics, trait impls and other self types.
fn self_ident(imp: &syn::ItemImpl, errors: &mut Errors) -> Option<syn::Ident> {
    let ident = match &*imp.self_ty {
        syn::Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            if !seg.arguments.is_empty() {
                errors.push(check::generic_workflow(&seg.arguments));
            }
            Some(seg.ident.clone())
        }
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                "`#[workflow]` goes on `impl YourWorkflow { … }` of a struct defined in this module",
            ));
            None
        }
    };
    if let Some(t) = &imp.trait_ {
        errors.push(syn::Error::new_spanned(
            &t.1,
            "`#[workflow]` goes on the inherent impl block (`impl YourWorkflow`), not on a trait impl",
        ));
    }
    if !imp.generics.params.is_empty() {
        errors.push(check::generic_workflow(&imp.generics));
    }
    ident
}

/// A method is one handler: a second handler attribute is refused.
fn one_kind(second: Option<&syn::Attribute>, errors: &mut Errors) {
    if let Some(second) = second {
        errors.push(syn::Error::new_spanned(
            second,
            "a method is one handler: keep one of `#[run]`, `#[signal]`, `#[query]`, `#[update]`",
        ));
    }
}

/// The options in a handler attribute's parentheses; `validator` only on updates.
fn handler_options(attr: &syn::Attribute, kind: HandlerKind, errors: &mut Errors) -> HandlerArgs {
    let options = match &attr.meta {
        syn::Meta::Path(_) => HandlerArgs::default(),
        syn::Meta::List(list) => parse_args::<HandlerArgs>(list.tokens.clone(), errors),
        syn::Meta::NameValue(nv) => {
            errors.push(syn::Error::new_spanned(
                nv,
                "write the options in parentheses: `(name = \"…\")`",
            ));
            HandlerArgs::default()
        }
    };
    if options.validator.is_some() && kind != HandlerKind::Update {
        errors.push(syn::Error::new_spanned(attr, "only `#[update]` takes a `validator`"));
    }
    options
}

fn not_generic(sig: &syn::Signature, errors: &mut Errors) {
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a handler cannot be generic: its arguments are decoded to one concrete type",
        ));
    }
}

/// `async fn run(ctx: WorkflowContext<Self>, args…) -> WorkflowResult<T>`.
fn read_run(sig: &syn::Signature, private: &TokenStream, errors: &mut Errors) -> Option<Run> {
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "`#[run]` must be an `async fn`: the workflow waits on activities, timers and signals",
        ));
    }
    match receiver(sig) {
        Some(r) => errors.push(syn::Error::new_spanned(
            r,
            "`#[run]` takes the context, not `self`: write `ctx: WorkflowContext<Self>` and reach \
             the state with `ctx.state(|s| …)`, so no borrow is held across an `.await`",
        )),
        None => require_context_first(sig, "`#[run]`", errors),
    }
    let output = result_output(
        sig,
        "`#[run]` returns `WorkflowResult<T>` (the result, or the failure the workflow ends with)",
        "`#[run]` returns `WorkflowResult<T>`: add `-> WorkflowResult<()>`",
        private,
        errors,
    );
    let arg_types = owned_args(sig, 1, BORROWED_ARG, errors);
    Some(Run {
        method: sig.ident.clone(),
        arg_types,
        output: output?,
    })
}

/// What a handler answers, read from its return type.
pub(crate) struct Shape {
    pub(crate) output: syn::Type,
    pub(crate) fallible: bool,
}

/// `async fn name(ctx: WorkflowContext<Self>, args…)` returning nothing or `WorkflowResult<()>`.
fn read_async_signal(sig: &syn::Signature, errors: &mut Errors) -> Shape {
    match receiver(sig) {
        Some(r) => errors.push(syn::Error::new_spanned(
            r,
            format!("an async signal handler is workflow code like `#[run]`: {SYNC_STATE_ONLY}"),
        )),
        None => require_context_first(sig, "an async signal handler", errors),
    }
    let fallible = match &sig.output {
        syn::ReturnType::Default => false,
        syn::ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(syn::Type::Tuple(unit)) if unit.elems.is_empty() => true,
            _ => {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "an async signal handler returns nothing or `WorkflowResult<()>`: signals have no \
                     reply, and an error it returns fails the workflow",
                ));
                false
            }
        },
    };
    Shape {
        output: syn::parse_quote!(()),
        fallible,
    }
}

/// `fn name(&mut self, args…)` (a signal) or `fn name(&self, args…) -> T` (a query).
fn read_sync_signal_or_query(sig: &syn::Signature, kind: HandlerKind, errors: &mut Errors) -> Shape {
    let (what, want_mut) = if kind == HandlerKind::Signal {
        ("a signal", true)
    } else {
        ("a query", false)
    };
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(
            a,
            "a query answers at once from the state: remove `async`",
        ));
    }
    let wanted = if want_mut { "&mut self" } else { "&self" };
    match receiver(sig) {
        None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("{what} handler takes `{wanted}` first"),
        )),
        Some(r) if r.reference.is_none() => errors.push(syn::Error::new_spanned(
            r,
            format!("{what} handler borrows the state: write `{wanted}`"),
        )),
        Some(r) if r.mutability.is_some() && !want_mut => errors.push(syn::Error::new_spanned(
            r,
            "a query must not change the workflow's state: take `&self`",
        )),
        Some(r) if r.mutability.is_none() && want_mut => errors.push(syn::Error::new_spanned(
            r,
            "a signal handler changes the workflow's state: take `&mut self`",
        )),
        Some(_) => {}
    }
    let output = match (&sig.output, kind) {
        (syn::ReturnType::Default, HandlerKind::Query) => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "a query returns its answer: add `-> T`",
            ));
            syn::parse_quote!(())
        }
        (syn::ReturnType::Type(_, ty), HandlerKind::Signal) => {
            errors.push(syn::Error::new_spanned(
                ty,
                "a signal handler returns nothing: signals have no reply (use a query to read state)",
            ));
            syn::parse_quote!(())
        }
        (syn::ReturnType::Type(_, ty), _) => (**ty).clone(),
        (syn::ReturnType::Default, _) => syn::parse_quote!(()),
    };
    Shape {
        output,
        fallible: false,
    }
}

/// `fn name(&mut self, args…) -> T` or `async fn name(ctx: WorkflowContext<Self>, args…) -> T`,
/// where a `Result` return makes the update fallible.
fn read_update(sig: &syn::Signature, errors: &mut Errors) -> Shape {
    let is_async = sig.asyncness.is_some();
    match receiver(sig) {
        Some(r) if is_async => errors.push(syn::Error::new_spanned(
            r,
            format!("an async update handler is workflow code like `#[run]`: {SYNC_STATE_ONLY}"),
        )),
        Some(r) if r.reference.is_some() && r.mutability.is_some() => {}
        Some(r) => errors.push(syn::Error::new_spanned(
            r,
            "an update handler changes the workflow's state: take `&mut self`",
        )),
        None if is_async => require_context_first(sig, "an async update handler", errors),
        None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            "an update handler takes `&mut self` first (or, as an `async fn`, `ctx: WorkflowContext<Self>`)",
        )),
    }
    match &sig.output {
        syn::ReturnType::Default => Shape {
            output: syn::parse_quote!(()),
            fallible: false,
        },
        syn::ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => Shape {
                output: ok.clone(),
                fallible: true,
            },
            None => Shape {
                output: (**ty).clone(),
                fallible: false,
            },
        },
    }
}

impl Handler {
    /// An update's accepted-stage stubs on the typed handle: `start_m` and `m_handle` for a
    /// method `m`.
    pub(crate) fn update_stub_names(&self) -> (syn::Ident, syn::Ident) {
        let m = self.method.to_string();
        let m = m.strip_prefix("r#").unwrap_or(&m);
        (
            quote::format_ident!("start_{}", m),
            quote::format_ident!("{}_handle", m),
        )
    }
}
