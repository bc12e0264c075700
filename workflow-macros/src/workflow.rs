//! `#[workflow]` on the state struct (the typed handle) and on its impl block (the entry
//! point, the handlers, the definitions and the typed client stubs).
//!
//! Why two attributes: the struct's visibility is known only at the struct, and the typed
//! handle must have that visibility; the handlers are known only at the impl.

use crate::activity::{arg_names, result_ok_type, result_output, type_named};
use crate::errors::Errors;
use crate::lint;
use crate::options::{HandlerArgs, WorkflowArgs, parse_args, runtime_path};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// Names the generated associated functions take on the workflow type.
const RESERVED: &[&str] = &["start", "execute", "handle"];

/// Methods of `WorkflowHandle` that a signal or query stub of the same name would hide (a test
/// reads `WorkflowHandle`'s source to keep this list whole).
const HANDLE_METHODS: &[&str] = &[
    "from_untyped",
    "update_by_name",
    "start_update_by_name",
    "update_handle_by_name",
    "result",
    "cancel",
    "terminate",
    "describe",
    "fetch_history",
    "signal",
    "query",
    "query_with",
    "update",
    "start_update",
    "update_handle",
    "with_deadline",
    "untyped",
    "workflow_id",
    "run_id",
    "signal_by_name",
    "query_by_name",
];

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(s)) => expand_struct(args, s),
        Ok(syn::Item::Impl(i)) => expand_impl(args, i),
        _ => {
            let e = syn::Error::new_spanned(
                &item,
                "`#[workflow]` goes on a workflow's state struct and on its `impl` block",
            )
            .to_compile_error();
            quote!(#e #item)
        }
    }
}

/// The handle type's name: `OrderWorkflow` → `OrderWorkflowHandle`.
fn handle_ident(ty: &syn::Ident) -> syn::Ident {
    format_ident!("{}Handle", ty)
}

fn expand_struct(args: TokenStream, s: syn::ItemStruct) -> TokenStream {
    let mut errors = Errors::default();
    let options: WorkflowArgs = parse_args(args, &mut errors);
    if let Some(name) = &options.name {
        let _ = name;
        errors.push(syn::Error::new(
            Span::call_site(),
            "put `name = \"…\"` on the `#[workflow]` of the impl block, where the definition is generated",
        ));
    }
    if !s.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &s.generics,
            "a workflow cannot be generic: it is registered and started by one wire name",
        ));
    }
    if !errors.is_empty() {
        let compile_errors = errors.to_compile_errors();
        return quote!(#compile_errors #s);
    }
    let private = {
        let krate = runtime_path(&options.krate);
        quote!(#krate::__private)
    };
    let ident = &s.ident;
    let vis = &s.vis;
    let handle = handle_ident(ident);
    let doc = format!("A handle to a running [`{ident}`]: its signals and queries as methods.");
    quote! {
        #s

        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #handle(#private::WorkflowHandle<#ident>);

        impl ::core::ops::Deref for #handle {
            type Target = #private::WorkflowHandle<#ident>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::core::convert::From<#private::WorkflowHandle<#ident>> for #handle {
            fn from(handle: #private::WorkflowHandle<#ident>) -> Self {
                #handle(handle)
            }
        }

        impl #private::WorkflowStruct for #ident {}
    }
}

struct Handler {
    method: syn::Ident,
    wire_name: String,
    arg_types: Vec<syn::Type>,
    output: Option<syn::Type>,
    /// Updates: whether the method returns a `Result` (else its value is the result).
    fallible: bool,
    validator: Option<syn::Ident>,
    /// Updates: an `async fn` taking the context (runs as workflow code beside `run`).
    is_async: bool,
    /// The method's doc comment: the handler's description in the workflow's metadata.
    description: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Run,
    Signal,
    Query,
    Update,
}

fn handler_kind(attr: &syn::Attribute) -> Option<Kind> {
    let path = attr.path();
    if path.is_ident("run") {
        Some(Kind::Run)
    } else if path.is_ident("signal") {
        Some(Kind::Signal)
    } else if path.is_ident("query") {
        Some(Kind::Query)
    } else if path.is_ident("update") {
        Some(Kind::Update)
    } else {
        None
    }
}

fn handler_args(attr: &syn::Attribute, errors: &mut Errors) -> HandlerArgs {
    let args = match &attr.meta {
        syn::Meta::Path(_) => return HandlerArgs::default(),
        syn::Meta::List(list) => list.tokens.clone(),
        syn::Meta::NameValue(nv) => {
            errors.push(syn::Error::new_spanned(
                nv,
                "write the options in parentheses: `(name = \"…\")`",
            ));
            return HandlerArgs::default();
        }
    };
    parse_args::<HandlerArgs>(args, errors)
}

/// The typed arguments of a method (after the receiver or the context).
fn typed_args(sig: &syn::Signature, skip: usize, errors: &mut Errors) -> Vec<syn::Type> {
    sig.inputs
        .iter()
        .skip(skip)
        .filter_map(|a| match a {
            syn::FnArg::Typed(pt) => {
                if let syn::Type::Reference(r) = &*pt.ty {
                    errors.push(syn::Error::new_spanned(
                        r,
                        "handler arguments are decoded from payloads and must be owned: remove the `&`",
                    ));
                }
                Some((*pt.ty).clone())
            }
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// Whether a type is the workflow context: `WorkflowContext<…>`, or any `Name<Self>` (the
/// context under another name: `use workflow_runtime::prelude::WorkflowContext as Ctx;`).
fn is_context(ty: &syn::Type) -> bool {
    if type_named(ty, "WorkflowContext") {
        return true;
    }
    let syn::Type::Path(p) = ty else { return false };
    let Some(syn::PathArguments::AngleBracketed(args)) = p.path.segments.last().map(|s| &s.arguments) else {
        return false;
    };
    matches!(args.args.first(), Some(syn::GenericArgument::Type(syn::Type::Path(t))) if t.path.is_ident("Self"))
}

/// Workflow code (`#[run]`, an async update) takes the context as its first parameter.
fn require_context_first(sig: &syn::Signature, what: &str, errors: &mut Errors) {
    let has_ctx = matches!(sig.inputs.first(), Some(syn::FnArg::Typed(pt)) if is_context(&pt.ty));
    if !has_ctx {
        let span = sig
            .inputs
            .first()
            .map(|a| a.span())
            .unwrap_or(sig.paren_token.span.join());
        errors.push(syn::Error::new(
            span,
            format!("{what} takes the workflow context first: `ctx: WorkflowContext<Self>`"),
        ));
    }
}

fn receiver(sig: &syn::Signature) -> Option<&syn::Receiver> {
    match sig.inputs.first() {
        Some(syn::FnArg::Receiver(r)) => Some(r),
        _ => None,
    }
}

fn expand_impl(args: TokenStream, mut imp: syn::ItemImpl) -> TokenStream {
    let mut errors = Errors::default();
    let options: WorkflowArgs = parse_args(args, &mut errors);
    let krate = runtime_path(&options.krate);
    let private = quote!(#krate::__private);
    let self_ident = match &*imp.self_ty {
        syn::Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            if !seg.arguments.is_empty() {
                errors.push(syn::Error::new_spanned(
                    &seg.arguments,
                    "a workflow cannot be generic: it is registered and started by one wire name",
                ));
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
        errors.push(syn::Error::new_spanned(
            &imp.generics,
            "a workflow cannot be generic: it is registered and started by one wire name",
        ));
    }

    // Lint findings do not change what is generated, so the expansion still happens beside
    // them (no cascade of "trait not implemented" errors); structural errors stop it.
    let mut lint_errors = Errors::default();
    let mut run: Option<(syn::Ident, Vec<syn::Type>, Option<syn::Type>)> = None;
    let mut signals = Vec::new();
    let mut queries = Vec::new();
    let mut updates: Vec<Handler> = Vec::new();
    // Whether `#[run]` is sound: then the rest is generated even beside errors elsewhere.
    let mut run_sound = true;
    for item in &mut imp.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        let errors_before = errors.len();
        if RESERVED.contains(&f.sig.ident.to_string().as_str()) {
            run_sound = false; // the generated stub of that name would clash with it
            errors.push(syn::Error::new_spanned(
                &f.sig.ident,
                format!(
                    "`{}` is generated by `#[workflow]` (the typed client stub); rename this method",
                    f.sig.ident
                ),
            ));
        }
        // Everything in a workflow impl is workflow code, unless a method opts out visibly.
        if !lint::fn_escape_hatch(&mut f.attrs, &mut lint_errors) {
            lint::check_block_in(&f.block, &lint::Scope::default().with_params(&f.sig), &mut lint_errors);
        }
        lint::strip_escape_hatches(&mut f.block);

        let kinds: Vec<(usize, Kind)> = f
            .attrs
            .iter()
            .enumerate()
            .filter_map(|(i, a)| handler_kind(a).map(|k| (i, k)))
            .collect();
        if kinds.len() > 1 {
            errors.push(syn::Error::new_spanned(
                &f.attrs[kinds[1].0],
                "a method is one handler: keep one of `#[run]`, `#[signal]`, `#[query]`, `#[update]`",
            ));
        }
        let Some(&(attr_index, kind)) = kinds.first() else {
            continue;
        };
        let attr = f.attrs[attr_index].clone();
        let handler_options = handler_args(&attr, &mut errors);
        let wire_name = handler_options.name.clone().unwrap_or_else(|| f.sig.ident.to_string());
        if handler_options.validator.is_some() && kind != Kind::Update {
            errors.push(syn::Error::new_spanned(&attr, "only `#[update]` takes a `validator`"));
        }
        f.attrs.retain(|a| handler_kind(a).is_none());
        let sig = &f.sig;
        if !sig.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &sig.generics,
                "a handler cannot be generic: its arguments are decoded to one concrete type",
            ));
        }
        match kind {
            Kind::Run => {
                if let Some((first, _, _)) = &run {
                    errors.push(syn::Error::new_spanned(
                        &attr,
                        format!("a workflow has one `#[run]`; `{first}` is already the entry point"),
                    ));
                }
                if sig.asyncness.is_none() {
                    errors.push(syn::Error::new_spanned(
                        sig.fn_token,
                        "`#[run]` must be an `async fn`: the workflow waits on activities, timers and signals",
                    ));
                }
                if let Some(r) = receiver(sig) {
                    errors.push(syn::Error::new_spanned(
                        r,
                        "`#[run]` takes the context, not `self`: write `ctx: WorkflowContext<Self>` and reach \
                         the state with `ctx.state(|s| …)`, so no borrow is held across an `.await`",
                    ));
                }
                if receiver(sig).is_none() {
                    require_context_first(sig, "`#[run]`", &mut errors);
                }
                let output = result_output(
                    sig,
                    "`#[run]` returns `WorkflowResult<T>` (the result, or the failure the workflow ends with)",
                    "`#[run]` returns `WorkflowResult<T>`: add `-> WorkflowResult<()>`",
                    &private,
                    &mut errors,
                );
                let args = typed_args(sig, 1, &mut errors);
                run = Some((sig.ident.clone(), args, output));
            }
            Kind::Signal if sig.asyncness.is_some() => {
                match receiver(sig) {
                    Some(r) => errors.push(syn::Error::new_spanned(
                        r,
                        "an async signal handler is workflow code like `#[run]`: take the context, not `self` \
                         (`ctx: WorkflowContext<Self>`), and reach the state with `ctx.state_mut(|s| …)`, so no \
                         borrow is held across an `.await`",
                    )),
                    None => require_context_first(sig, "an async signal handler", &mut errors),
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
                check_hidden_name(sig, &wire_name, &mut errors);
                signals.push(Handler {
                    method: sig.ident.clone(),
                    wire_name,
                    arg_types: typed_args(sig, 1, &mut errors),
                    output: None,
                    fallible,
                    validator: None,
                    is_async: true,
                    description: doc_text(&f.attrs),
                });
            }
            Kind::Signal | Kind::Query => {
                let (what, want_mut) = if kind == Kind::Signal {
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
                match receiver(sig) {
                    None => errors.push(syn::Error::new(
                        sig.paren_token.span.join(),
                        format!(
                            "{what} handler takes `{}` first",
                            if want_mut { "&mut self" } else { "&self" }
                        ),
                    )),
                    Some(r) if r.reference.is_none() => errors.push(syn::Error::new_spanned(
                        r,
                        format!(
                            "{what} handler borrows the state: write `{}`",
                            if want_mut { "&mut self" } else { "&self" }
                        ),
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
                    (syn::ReturnType::Default, Kind::Query) => {
                        errors.push(syn::Error::new(
                            sig.paren_token.span.close(),
                            "a query returns its answer: add `-> T`",
                        ));
                        None
                    }
                    (syn::ReturnType::Type(_, ty), Kind::Signal) => {
                        errors.push(syn::Error::new_spanned(
                            ty,
                            "a signal handler returns nothing: signals have no reply (use a query to read state)",
                        ));
                        None
                    }
                    (syn::ReturnType::Type(_, ty), _) => Some((**ty).clone()),
                    _ => None,
                };
                check_hidden_name(sig, &wire_name, &mut errors);
                let handler = Handler {
                    method: sig.ident.clone(),
                    wire_name,
                    arg_types: typed_args(sig, 1, &mut errors),
                    output,
                    fallible: false,
                    validator: None,
                    is_async: false,
                    description: doc_text(&f.attrs),
                };
                if kind == Kind::Signal {
                    signals.push(handler);
                } else {
                    queries.push(handler);
                }
            }
            Kind::Update => {
                let is_async = sig.asyncness.is_some();
                match receiver(sig) {
                    Some(r) if is_async => errors.push(syn::Error::new_spanned(
                        r,
                        "an async update handler is workflow code like `#[run]`: take the context, not `self` \
                         (`ctx: WorkflowContext<Self>`), and reach the state with `ctx.state_mut(|s| …)`, so no \
                         borrow is held across an `.await`",
                    )),
                    Some(r) if r.reference.is_some() && r.mutability.is_some() => {}
                    Some(r) => errors.push(syn::Error::new_spanned(
                        r,
                        "an update handler changes the workflow's state: take `&mut self`",
                    )),
                    None if is_async => require_context_first(sig, "an async update handler", &mut errors),
                    None => errors.push(syn::Error::new(
                        sig.paren_token.span.join(),
                        "an update handler takes `&mut self` first (or, as an `async fn`, \
                         `ctx: WorkflowContext<Self>`)",
                    )),
                }
                let (output, fallible) = match &sig.output {
                    syn::ReturnType::Default => (Some(syn::parse_quote!(())), false),
                    syn::ReturnType::Type(_, ty) => match result_ok_type(ty) {
                        Some(ok) => (Some(ok.clone()), true),
                        None => (Some((**ty).clone()), false),
                    },
                };
                check_hidden_name(sig, &wire_name, &mut errors);
                updates.push(Handler {
                    method: sig.ident.clone(),
                    wire_name,
                    arg_types: typed_args(sig, 1, &mut errors),
                    output,
                    fallible,
                    validator: handler_options.validator.clone(),
                    is_async,
                    description: doc_text(&f.attrs),
                });
            }
        }
        // A handler with an error is left out of what is generated (its errors say why), so
        // the rest of the workflow still compiles and one mistake does not cascade.
        if errors.len() > errors_before {
            match kind {
                Kind::Run => run_sound = false,
                Kind::Signal => drop(signals.pop()),
                Kind::Query => drop(queries.pop()),
                Kind::Update => drop(updates.pop()),
            }
        }
    }
    // Each update also gets `start_<update>` and `<update>_handle` on the typed handle: no other
    // handler may take those names.
    // A handler in the way is reported and left out, so nothing cascades from it.
    let stub_names: Vec<(syn::Ident, &syn::Ident)> = updates
        .iter()
        .flat_map(|u| {
            let (start, by_id) = update_stub_names(&u.method);
            [(start, &u.method), (by_id, &u.method)]
        })
        .collect();
    let mut in_the_way = Vec::new();
    for handler in signals.iter().chain(&queries).chain(&updates) {
        if let Some((_, update)) = stub_names.iter().find(|(stub, _)| *stub == handler.method) {
            errors.push(syn::Error::new_spanned(
                &handler.method,
                format!(
                    "the typed handle already has `{}` for update `{update}`; rename this method (keep its wire \
                     name with `name = \"…\"`)",
                    handler.method
                ),
            ));
            in_the_way.push(handler.method.clone());
        }
    }
    for list in [&mut signals, &mut queries, &mut updates] {
        list.retain(|h| !in_the_way.contains(&h.method));
    }
    let Some(self_ident) = self_ident else {
        let compile_errors = errors.to_compile_errors();
        return quote!(#compile_errors #imp);
    };
    if run.is_none() {
        errors.push(syn::Error::new_spanned(
            &imp.self_ty,
            "a workflow needs an entry point: mark one `async fn` `#[run]`",
        ));
    }
    for (kind, list) in [("signal", &signals), ("query", &queries), ("update", &updates)] {
        let mut seen = std::collections::BTreeMap::new();
        for h in list.iter() {
            if let Some(first) = seen.insert(h.wire_name.clone(), h.method.clone()) {
                errors.push(syn::Error::new_spanned(
                    &h.method,
                    format!("{kind} name `{}` is already used by `{first}`", h.wire_name),
                ));
            }
        }
    }
    let run_usable = run_sound && run.as_ref().is_some_and(|(_, _, output)| output.is_some());
    if !errors.is_empty() && !run_usable {
        // Without a sound entry point nothing can be generated: the impl stays (handler
        // attributes removed) beside the errors.
        let compile_errors = errors.to_compile_errors();
        let lint_errors = lint_errors.to_compile_errors();
        return quote!(#compile_errors #lint_errors #imp);
    }
    // Errors in handlers or options: reported, and the sound part is generated beside them.
    lint_errors.extend(errors);
    let lint_errors = lint_errors.to_compile_errors();
    let (run_method, run_args, output) = run.expect("checked above");
    let output = output.expect("checked above");

    let wire_name = options.name.clone().unwrap_or_else(|| self_ident.to_string());
    let handle = handle_ident(&self_ident);
    let run_arg_names = arg_names(run_args.len());
    let state_check = quote_spanned! {imp.self_ty.span()=>
        const _: fn() = || {
            #private::assert_workflow_struct::<#self_ident>();
            #private::assert_default_state::<#self_ident>();
        };
    };

    let signal_registrations = signals.iter().map(|h| {
        let (method, name) = (&h.method, &h.wire_name);
        let types = &h.arg_types;
        let names = arg_names(types.len());
        let describe = describe_handler(h, "Signal", &private);
        if h.is_async {
            let call = if h.fallible {
                quote!(Self::#method(ctx, #(#names),*).await)
            } else {
                quote!({
                    Self::#method(ctx, #(#names),*).await;
                    ::core::result::Result::Ok::<(), #private::WorkflowError>(())
                })
            };
            return quote! {
                handlers.signal_async_raw::<(#(#types,)*), _, _, _>(#name, |ctx, (#(#names,)*)| async move { #call });
                #describe
            };
        }
        quote!(handlers.signal_raw::<(#(#types,)*)>(#name, |state, (#(#names,)*)| state.#method(#(#names),*)); #describe)
    });
    let query_registrations = queries.iter().map(|h| {
        let (method, name) = (&h.method, &h.wire_name);
        let types = &h.arg_types;
        let names = arg_names(types.len());
        let describe = describe_handler(h, "Query", &private);
        quote!(handlers.query_raw::<(#(#types,)*), _>(#name, |state, (#(#names,)*)| state.#method(#(#names),*)); #describe)
    });

    let update_registrations = updates.iter().map(|h| {
        let (method, name) = (&h.method, &h.wire_name);
        let types = &h.arg_types;
        let names = arg_names(types.len());
        let call = if h.fallible {
            quote!(state.#method(#(#names),*).map_err(::core::convert::Into::<#private::WorkflowError>::into))
        } else {
            quote!(::core::result::Result::Ok::<_, #private::WorkflowError>(state.#method(#(#names),*)))
        };
        let validator = match &h.validator {
            Some(v) => quote! {
                ::core::option::Option::Some(|state: &Self, (#(#names,)*): (#(#types,)*)| {
                    state.#v(#(#names),*).map_err(|e| ::std::string::ToString::to_string(&e))
                })
            },
            None => quote! {
                ::core::option::Option::None::<fn(&Self, (#(#types,)*)) -> ::core::result::Result<(), ::std::string::String>>
            },
        };
        let describe = describe_handler(h, "Update", &private);
        if h.is_async {
            let result = if h.fallible {
                quote!(::core::convert::Into::<#private::WorkflowError>::into)
            } else {
                quote!(::core::result::Result::Ok::<_, #private::WorkflowError>)
            };
            let ok = if h.fallible { quote!(.map_err(#result)) } else { quote!() };
            let call = if h.fallible {
                quote!(Self::#method(ctx, #(#names),*).await #ok)
            } else {
                quote!(#result(Self::#method(ctx, #(#names),*).await))
            };
            return quote! {
                handlers.update_async_raw::<(#(#types,)*), _, _, _, _, _>(
                    #name,
                    |ctx, (#(#names,)*)| async move { #call },
                    #validator,
                );
                #describe
            };
        }
        quote! {
            handlers.update_raw::<(#(#types,)*), _, _, _>(#name, |state, (#(#names,)*)| #call, #validator);
            #describe
        }
    });
    let update_stubs = updates.iter().map(|h| {
        let out = h.output.clone().expect("updates have an output");
        let doc = format!("Runs the `{}` update and waits for its result.", h.wire_name);
        let run_to_end = handle_stub(h, &private, "update_by_name", quote!(#out), doc);
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let (start, by_id) = update_stub_names(method);
        let start_doc = format!(
            "Sends the `{name}` update and returns once it reached `wait_for` (accepted, or completed); \
             `.result()` on the handle waits for its answer."
        );
        let by_id_doc = format!("The `{name}` update sent earlier with `update_id`, to wait for its answer.");
        quote! {
            #run_to_end

            #[doc = #start_doc]
            pub async fn #start(
                &self,
                #(#names: #types,)*
                wait_for: #private::UpdateWaitStage,
            ) -> ::core::result::Result<#private::UpdateHandle<#out>, #private::ClientError> {
                self.0.start_update_by_name(#name, (#(#names,)*), ::core::option::Option::None, wait_for).await
            }

            #[doc = #by_id_doc]
            pub fn #by_id(&self, update_id: impl ::core::convert::Into<::std::string::String>) -> #private::UpdateHandle<#out> {
                self.0.update_handle_by_name(#name, update_id)
            }
        }
    });
    let signal_stubs = signals.iter().map(|h| {
        let doc = format!("Sends the `{}` signal.", h.wire_name);
        handle_stub(h, &private, "signal_by_name", quote!(()), doc)
    });
    let query_stubs = queries.iter().map(|h| {
        let out = h.output.clone().expect("queries have an output");
        let doc = format!("Runs the `{}` query.", h.wire_name);
        handle_stub(h, &private, "query_by_name", quote!(#out), doc)
    });
    let signal_with_start_stubs = signals.iter().map(|h| {
        let (method, name) = (&h.method, &h.wire_name);
        let types = &h.arg_types;
        let sig_names: Vec<syn::Ident> = (0..types.len()).map(|i| format_ident!("__signal_arg{}", i)).collect();
        let fn_name = format_ident!("{}_with_start", method);
        let doc = format!("Sends the `{name}` signal, starting the workflow first if it is not running.");
        quote! {
            #[doc = #doc]
            pub async fn #fn_name(
                client: &#private::Client,
                options: #private::StartOptions,
                #(#run_arg_names: #run_args,)*
                #(#sig_names: #types,)*
            ) -> ::core::result::Result<#handle, #private::ClientError> {
                client
                    .signal_with_start_by_name::<Self, _>(options, (#(#run_arg_names,)*), #name, (#(#sig_names,)*))
                    .await
                    .map(#handle::from)
            }
        }
    });

    let update_with_start_stubs = updates.iter().map(|h| {
        let (method, name) = (&h.method, &h.wire_name);
        let types = &h.arg_types;
        let out = h.output.clone().expect("updates have an output");
        let upd_names: Vec<syn::Ident> = (0..types.len()).map(|i| format_ident!("__update_arg{}", i)).collect();
        let fn_name = format_ident!("{}_with_start", method);
        let doc = format!(
            "Runs the `{name}` update, starting the workflow first if it is not running; returns the handle and \
             the update's result."
        );
        quote! {
            #[doc = #doc]
            pub async fn #fn_name(
                client: &#private::Client,
                options: #private::StartOptions,
                #(#run_arg_names: #run_args,)*
                #(#upd_names: #types,)*
            ) -> ::core::result::Result<(#handle, #out), #private::ClientError> {
                client
                    .update_with_start_by_name::<Self, _, #out>(options, (#(#run_arg_names,)*), #name, (#(#upd_names,)*))
                    .await
                    .map(|(handle, result)| (#handle::from(handle), result))
            }
        }
    });

    quote! {
        #lint_errors

        #imp

        #state_check

        impl #private::WorkflowDefinition for #self_ident {
            const NAME: &'static str = #wire_name;
            type Input = (#(#run_args,)*);
            type Output = #output;
        }

        impl #private::Workflow for #self_ident {
            fn init(_input: &Self::Input) -> Self {
                ::core::default::Default::default()
            }

            fn run(
                ctx: #private::WorkflowContext<Self>,
                (#(#run_arg_names,)*): Self::Input,
            ) -> #private::LocalBoxFuture<'static, #private::WorkflowResult<Self::Output>> {
                ::std::boxed::Box::pin(Self::#run_method(ctx, #(#run_arg_names),*))
            }

            #[allow(unused_variables)]
            fn handlers(handlers: &mut #private::Handlers<Self>) {
                #(#signal_registrations)*
                #(#query_registrations)*
                #(#update_registrations)*
            }
        }

        impl #self_ident {
            /// Starts this workflow; returns its typed handle.
            pub async fn start(
                client: &#private::Client,
                options: #private::StartOptions,
                #(#run_arg_names: #run_args),*
            ) -> ::core::result::Result<#handle, #private::ClientError> {
                client.start::<Self>(options, (#(#run_arg_names,)*)).await.map(#handle::from)
            }

            /// Starts this workflow and waits for its result.
            pub async fn execute(
                client: &#private::Client,
                options: #private::StartOptions,
                #(#run_arg_names: #run_args),*
            ) -> ::core::result::Result<#output, #private::ClientError> {
                client.execute::<Self>(options, (#(#run_arg_names,)*)).await
            }

            /// A typed handle to an existing run of this workflow (its latest run).
            pub fn handle(client: &#private::Client, workflow_id: impl ::core::convert::Into<::std::string::String>) -> #handle {
                #handle::from(client.handle::<Self>(workflow_id, ::core::option::Option::None))
            }

            #(#signal_with_start_stubs)*
            #(#update_with_start_stubs)*
        }

        impl #handle {
            #(#signal_stubs)*
            #(#query_stubs)*
            #(#update_stubs)*
        }
    }
}

/// One typed method of the handle: `fn method(&self, args…) -> Result<out, ClientError>`,
/// sending the handler's wire name and arguments through `self.0.<call>`.
fn handle_stub(h: &Handler, private: &TokenStream, call: &str, out: TokenStream, doc: String) -> TokenStream {
    let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
    let names = arg_names(types.len());
    let call = format_ident!("{}", call);
    quote! {
        #[doc = #doc]
        pub async fn #method(&self, #(#names: #types),*) -> ::core::result::Result<#out, #private::ClientError> {
            self.0.#call(#name, (#(#names,)*)).await
        }
    }
}

/// `#[deterministic]` on a helper function: the lint applies to its body.
pub(crate) fn expand_deterministic(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(&args, "`#[deterministic]` takes no options"));
    }
    let checked = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(mut func)) => {
            let scope = lint::Scope::default().with_params(&func.sig);
            check_function(&mut func.attrs, &mut func.block, &scope, &mut errors);
            quote!(#func)
        }
        Ok(syn::Item::Mod(mut module)) if module.content.is_some() => {
            check_module(&mut module, &mut errors);
            quote!(#module)
        }
        Ok(syn::Item::Mod(module)) => {
            errors.push(syn::Error::new_spanned(
                &module,
                "`#[deterministic]` needs the module's items inline (`mod name { … }`) to check them",
            ));
            item
        }
        _ => {
            errors.push(syn::Error::new_spanned(
                &item,
                "`#[deterministic]` goes on a function called from workflow code, or on an inline module of them",
            ));
            item
        }
    };
    let compile_errors = errors.to_compile_errors();
    quote!(#compile_errors #checked)
}

/// Lints one function (unless it opts out visibly) and removes the escape hatches.
fn check_function(attrs: &mut Vec<syn::Attribute>, block: &mut syn::Block, scope: &lint::Scope, errors: &mut Errors) {
    if !lint::fn_escape_hatch(attrs, errors) {
        lint::check_block_in(block, scope, errors);
    }
    lint::strip_escape_hatches(block);
}

/// Whether an attribute is `#[name]` (by its last segment, so `#[workflow_runtime::name]` too).
fn is_attr(attr: &syn::Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

/// Lints every function and method of a `#[deterministic]` module with the module's `use`
/// items in scope, leaving activities alone (they are where nondeterminism belongs). The
/// methods of a `#[workflow]` impl are checked here, with the module's imports, and marked so
/// the `#[workflow]` expansion does not check them again.
fn check_module(module: &mut syn::ItemMod, errors: &mut Errors) {
    let Some((_, items)) = module.content.as_mut() else {
        return;
    };
    let scope = lint::Scope::of_items(items);
    for item in items.iter_mut() {
        match item {
            syn::Item::Fn(f) if !f.attrs.iter().any(|a| is_attr(a, "activity")) => {
                // Checked here, so an inner `#[deterministic]` would only check it twice.
                f.attrs.retain(|a| !is_attr(a, "deterministic"));
                let scope = scope.clone().with_params(&f.sig);
                check_function(&mut f.attrs, &mut f.block, &scope, errors);
            }
            syn::Item::Impl(imp) if !imp.attrs.iter().any(|a| is_attr(a, "activities")) => {
                let workflow = imp.attrs.iter().any(|a| is_attr(a, "workflow"));
                for member in &mut imp.items {
                    let syn::ImplItem::Fn(f) = member else { continue };
                    let scope = scope.clone().with_params(&f.sig);
                    check_function(&mut f.attrs, &mut f.block, &scope, errors);
                    if workflow {
                        f.attrs.push(syn::parse_quote!(
                            #[allow_nondeterministic(reason = "checked by the enclosing #[deterministic] module")]
                        ));
                    }
                }
            }
            syn::Item::Mod(inner) if inner.content.is_some() => check_module(inner, errors),
            _ => {}
        }
    }
}

/// A method's doc comment as plain text: its lines trimmed and joined.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value: syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s), ..
                }),
                ..
            }) => Some(s.value().trim().to_string()),
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_string()
}

/// Registers a handler's description, when its method has a doc comment.
fn describe_handler(h: &Handler, kind: &str, private: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if h.description.is_empty() {
        return quote!();
    }
    let kind = syn::Ident::new(kind, proc_macro2::Span::call_site());
    let (name, description) = (&h.wire_name, &h.description);
    quote!(handlers.describe(#private::HandlerKind::#kind, #name, #description);)
}

/// A handler whose method name would hide a method of `WorkflowHandle` on the typed handle.
fn check_hidden_name(sig: &syn::Signature, wire_name: &str, errors: &mut Errors) {
    if HANDLE_METHODS.contains(&sig.ident.to_string().as_str()) {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "a handler named `{}` would hide `WorkflowHandle::{}` on the typed handle; rename the method \
                 (keep the wire name with `name = \"{}\"`)",
                sig.ident, sig.ident, wire_name
            ),
        ));
    }
}

/// The typed handle's accepted-stage stubs of an update method `m`: `start_m` and `m_handle`.
fn update_stub_names(method: &syn::Ident) -> (syn::Ident, syn::Ident) {
    let m = method.to_string();
    let m = m.strip_prefix("r#").unwrap_or(&m);
    (format_ident!("start_{}", m), format_ident!("{}_handle", m))
}

#[cfg(test)]
mod tests {
    /// Every public function of `WorkflowHandle<W>` is reserved: a handler stub of the same
    /// name on the typed handle would hide it.
    #[test]
    fn reserved_names_cover_every_workflow_handle_method() {
        let source = include_str!("../../workflow-client/src/handle.rs");
        let start = source
            .find("impl<W: WorkflowDefinition> WorkflowHandle<W> {")
            .expect("WorkflowHandle's impl block");
        let end = start + source[start..].find("\n}\n").expect("the end of the impl block");
        let missing: Vec<&str> = source[start..end]
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let rest = l.strip_prefix("pub async fn ").or_else(|| l.strip_prefix("pub fn "))?;
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next()
            })
            .filter(|name| !super::HANDLE_METHODS.contains(name))
            .collect();
        assert!(missing.is_empty(), "add to HANDLE_METHODS: {missing:?}");
    }
}
