//! The model of an activity: a function (`#[activity]`) or a method of an `#[activities]`
//! impl block, read from its signature with the checks that concern it.

use crate::errors::Errors;
use crate::signature::{owned_guess, result_ok_type, result_output, type_named};
use proc_macro2::TokenStream;

/// Whether the function may (must) take `&self`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Receiver {
    /// A free function: `#[activity]` alone.
    Forbidden,
    /// A method of an `#[activities]` impl: `&self` is the shared state.
    Required,
}

/// What an activity's signature says.
pub(crate) struct ActivitySig {
    /// Whether the first parameter is the `ActivityContext`.
    pub(crate) ctx_param: bool,
    /// The input: the parameters after the receiver and the context.
    pub(crate) arg_types: Vec<syn::Type>,
    /// The success type of its `Result`.
    pub(crate) output: syn::Type,
    /// Whether the signature names type parameters, which no definition can stand for.
    pub(crate) generic: bool,
}

/// Reads an activity signature (async, not generic, optional context first, owned
/// arguments, a `Result` return), adding one error per problem. Beside errors, the model is
/// the closest sound reading (a borrowed `&str` read as `String`, `-> T` as `Ok` type `T`), so
/// a definition can still be generated and call sites elsewhere see no second error.
pub(crate) fn read(
    sig: &syn::Signature,
    receiver: Receiver,
    private: &TokenStream,
    errors: &mut Errors,
) -> ActivitySig {
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "an activity must be an `async fn`: add `async` before `fn`",
        ));
    }
    let generic = !sig.generics.params.is_empty() || sig.generics.where_clause.is_some();
    if generic {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "an activity cannot be generic: it is registered and called by one wire name, with concrete types",
        ));
    }
    if receiver == Receiver::Required {
        required_receiver(sig, errors);
    }
    let first_arg = if receiver == Receiver::Required { 1 } else { 0 };
    let mut ctx_param = false;
    let mut arg_types = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            syn::FnArg::Receiver(r) if receiver == Receiver::Forbidden => errors.push(syn::Error::new_spanned(
                r,
                "`#[activity]` on a method needs `#[activities]` on its impl block, which registers the \
                 methods together with the shared state",
            )),
            syn::FnArg::Receiver(_) => {}
            syn::FnArg::Typed(pt) if i == first_arg && type_named(&pt.ty, "ActivityContext") => ctx_param = true,
            syn::FnArg::Typed(pt) => {
                if let syn::Type::Reference(r) = &*pt.ty {
                    errors.push(syn::Error::new_spanned(
                        r,
                        "activity arguments are decoded from payloads and must be owned: remove the `&`",
                    ));
                }
                arg_types.push(owned_guess(&pt.ty));
            }
        }
    }
    let output = result_output(
        sig,
        "an activity returns `Result<T, ActivityError>` (or any error that converts into `ActivityError`), \
         so a failure can be retried or reported",
        "an activity returns `Result<T, ActivityError>`: add `-> Result<(), ActivityError>`",
        private,
        errors,
    )
    .unwrap_or_else(|| written_output(sig));
    ActivitySig {
        ctx_param,
        arg_types,
        output,
        generic,
    }
}

/// A method of an `#[activities]` impl takes `&self` first.
fn required_receiver(sig: &syn::Signature, errors: &mut Errors) {
    match sig.inputs.first() {
        Some(syn::FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        Some(syn::FnArg::Receiver(r)) => errors.push(syn::Error::new_spanned(
            r,
            "an activity method shares its state between concurrent attempts: take `&self`",
        )),
        _ => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            "an activity method takes `&self` (the shared state) first",
        )),
    }
}

/// The result a signature without a `Result` most likely meant: what it returns, or `()`.
fn written_output(sig: &syn::Signature) -> syn::Type {
    match &sig.output {
        syn::ReturnType::Type(_, ty) => result_ok_type(ty).unwrap_or(ty).clone(),
        syn::ReturnType::Default => syn::parse_quote!(()),
    }
}
