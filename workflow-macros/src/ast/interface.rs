//! The model of a `#[workflow_interface]` trait: a workflow implemented elsewhere (in any SDK),
//! declared by what its callers see: the entry point's arguments and result, and each signal's,
//! query's and update's arguments and answer. The same model as a `#[workflow]` impl block, so
//! the same client stubs are generated from it.

use crate::ast::workflow::{BORROWED_ARG, Declared, HandlerKind, Run, Shape, WorkflowImpl, read_methods};
use crate::check;
use crate::errors::Errors;
use crate::options::{HandlerArgs, WorkflowArgs};
use crate::signature::{is_workflow_context, owned_args, receiver, result_ok_type, written};
use syn::spanned::Spanned;

/// Reads the trait into the model, reporting what is wrong with it and with each method.
pub(crate) fn read(tr: &mut syn::ItemTrait, options: &WorkflowArgs, errors: &mut Errors) -> WorkflowImpl {
    if !tr.generics.params.is_empty() || tr.generics.where_clause.is_some() {
        errors.push(check::generic_workflow(&tr.generics));
    }
    if let Some(colon) = &tr.colon_token {
        let supertraits = &tr.supertraits;
        errors.push(syn::Error::new_spanned(
            quote::quote!(#colon #supertraits),
            "an interface declares one workflow's signatures: remove the supertraits",
        ));
    }
    if let Some(unsafety) = &tr.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "an interface is not `unsafe`: remove it",
        ));
    }
    if let Some(auto) = &tr.auto_token {
        errors.push(syn::Error::new_spanned(
            auto,
            "an interface is not an auto trait: remove `auto`",
        ));
    }
    for item in &tr.items {
        match item {
            syn::TraitItem::Fn(f) => {
                if let Some(body) = &f.default {
                    errors.push(syn::Error::new_spanned(
                        body,
                        "an interface declares signatures only (the workflow is implemented elsewhere): \
                         replace the body with `;`",
                    ));
                }
            }
            other => errors.push(syn::Error::new_spanned(
                other,
                "an interface declares the workflow's `#[run]`, `#[signal]`, `#[query]` and `#[update]` \
                 signatures only: remove this item",
            )),
        }
    }
    let methods = tr.items.iter_mut().filter_map(|item| match item {
        syn::TraitItem::Fn(f) => Some((&mut f.attrs, &f.sig)),
        _ => None,
    });
    let model = read_methods(Some(tr.ident.clone()), options, methods, Declared::Interface, errors);
    if model.run_methods.is_empty() {
        errors.push(syn::Error::new_spanned(
            &tr.ident,
            "an interface declares the workflow's entry point: add `#[run] fn run(input: Input) -> Output;`",
        ));
    }
    model
}

/// The error on a method that is no handler: an interface has nothing else.
pub(crate) fn unmarked(sig: &syn::Signature) -> syn::Error {
    syn::Error::new_spanned(
        &sig.ident,
        format!(
            "mark `{}` `#[run]`, `#[signal]`, `#[query]` or `#[update]`: an interface declares only the \
             workflow's entry point and handlers",
            sig.ident
        ),
    )
}

/// `#[run] fn name(arguments…) -> T;`: what a caller sends and gets back.
pub(crate) fn read_run(sig: &syn::Signature, errors: &mut Errors) -> Option<Run> {
    caller_arguments(sig, errors);
    let output = answer(
        sig,
        "the workflow's failure reaches the caller as `ClientError::WorkflowFailed`",
        errors,
    );
    Some(Run {
        method: sig.ident.clone(),
        arg_types: owned_args(sig, 0, BORROWED_ARG, errors),
        output: output?,
    })
}

/// A signal (`fn name(arguments…);`), query (`fn name(arguments…) -> T;`) or update
/// (`fn name(arguments…) -> T;`, or no result).
pub(crate) fn read_handler(
    sig: &syn::Signature,
    kind: HandlerKind,
    options: &HandlerArgs,
    errors: &mut Errors,
) -> Shape {
    caller_arguments(sig, errors);
    if let Some(validator) = &options.validator {
        errors.push(syn::Error::new_spanned(
            validator,
            "a validator runs in the workflow's own worker: an interface does not declare one",
        ));
    }
    let output = match (kind, &sig.output) {
        (HandlerKind::Signal, syn::ReturnType::Type(_, ty)) => {
            errors.push(syn::Error::new_spanned(
                ty,
                "a signal has no reply: remove the return type (a query or an update answers)",
            ));
            None
        }
        (HandlerKind::Query, syn::ReturnType::Default) => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "a query returns its answer: add `-> T`",
            ));
            None
        }
        (HandlerKind::Query, _) => answer(
            sig,
            "a failed query reaches the caller as `ClientError::QueryFailed`",
            errors,
        ),
        (_, _) => answer(
            sig,
            "a failed update reaches the caller as `ClientError::UpdateFailed`",
            errors,
        ),
    };
    Shape {
        output: output.unwrap_or_else(|| syn::parse_quote!(())),
        fallible: false,
    }
}

/// The arguments are what the caller sends: no `self`, no context.
fn caller_arguments(sig: &syn::Signature, errors: &mut Errors) {
    if let Some(r) = receiver(sig) {
        errors.push(syn::Error::new_spanned(
            r,
            format!(
                "an interface method takes no `self`: list only the arguments the workflow receives \
                 (`{}`)",
                caller_signature(sig)
            ),
        ));
    }
    if let Some(syn::FnArg::Typed(pt)) = sig.inputs.first()
        && is_workflow_context(&pt.ty)
    {
        errors.push(syn::Error::new_spanned(
            pt,
            "an interface lists what the caller sends: remove the workflow context",
        ));
    }
}

/// The written result type, which is what the caller gets: a `Result` there is refused, as
/// its error half never reaches the caller as a value.
fn answer(sig: &syn::Signature, failure: &str, errors: &mut Errors) -> Option<syn::Type> {
    match &sig.output {
        syn::ReturnType::Default => Some(syn::parse_quote_spanned!(sig.paren_token.span.close()=> ())),
        syn::ReturnType::Type(_, ty) if result_ok_type(ty).is_some() => {
            let ok = written(result_ok_type(ty).unwrap());
            errors.push(syn::Error::new(
                ty.span(),
                format!("write the success type the caller gets (`-> {ok}`): {failure}"),
            ));
            None
        }
        syn::ReturnType::Type(_, ty) => Some((**ty).clone()),
    }
}

/// The signature without `self` and the context: what the method should say.
fn caller_signature(sig: &syn::Signature) -> String {
    let arguments: Vec<String> = sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            syn::FnArg::Typed(pt) if !is_workflow_context(&pt.ty) => Some(written(pt)),
            _ => None,
        })
        .collect();
    let output = match &sig.output {
        syn::ReturnType::Default => String::new(),
        syn::ReturnType::Type(_, ty) => format!(" -> {}", written(ty)),
    };
    format!("fn {}({}){output}", sig.ident, arguments.join(", "))
}
