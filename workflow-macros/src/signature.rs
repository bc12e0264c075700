//! Reading function signatures: the shapes the workflow and activity macros share (results,
//! context parameters, receivers, owned arguments, doc comments).

use crate::errors::Errors;
use crate::symbol;
use proc_macro2::TokenStream;
use quote::format_ident;
use syn::spanned::Spanned;

/// The success type of `Result<T, E>`, when the type is written that way.
pub(crate) fn result_ok_type(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" && last.ident != "WorkflowResult" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// Whether a return type may be a renamed `Result` (`Outcome<T>`): a generic path that is not
/// one of the standard containers, which are never results.
fn maybe_result_alias(ty: &syn::Type) -> bool {
    const NOT_RESULTS: &[&str] = &[
        "Option", "Vec", "Box", "Rc", "Arc", "HashMap", "BTreeMap", "HashSet", "BTreeSet", "VecDeque",
    ];
    let syn::Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    matches!(last.arguments, syn::PathArguments::AngleBracketed(_))
        && !NOT_RESULTS.contains(&last.ident.to_string().as_str())
}

/// The `T` of a function returning `Result<T, E>` (or `WorkflowResult<T>`, or an alias of
/// either such as `Outcome<T>`, whose `T` the compiler then finds); otherwise an error on the
/// return type (`not_result`) or where it is missing (`missing`).
pub(crate) fn result_output(
    sig: &syn::Signature,
    not_result: &str,
    missing: &str,
    private: &TokenStream,
    errors: &mut Errors,
) -> Option<syn::Type> {
    match &sig.output {
        syn::ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => Some(ok.clone()),
            None if maybe_result_alias(ty) => {
                Some(syn::parse_quote_spanned!(ty.span()=> <#ty as #private::ResultOk>::Ok))
            }
            None => {
                errors.push(syn::Error::new_spanned(ty, not_result));
                None
            }
        },
        syn::ReturnType::Default => {
            errors.push(syn::Error::new(sig.paren_token.span.close(), missing));
            None
        }
    }
}

/// Whether a type is written as `…::Name` or `…::Name<…>`.
pub(crate) fn type_named(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

/// `__arg0, __arg1, …`: names for arguments in generated code.
pub(crate) fn arg_names(count: usize) -> Vec<syn::Ident> {
    (0..count).map(|i| format_ident!("__arg{}", i)).collect()
}

/// The method's `self` parameter, if it has one.
pub(crate) fn receiver(sig: &syn::Signature) -> Option<&syn::Receiver> {
    match sig.inputs.first() {
        Some(syn::FnArg::Receiver(r)) => Some(r),
        _ => None,
    }
}

/// Whether a type is the workflow context: `WorkflowContext<…>`, or any `Name<Self>` (the
/// context under another name: `use workflow_runtime::prelude::WorkflowContext as Ctx;`).
pub(crate) fn is_workflow_context(ty: &syn::Type) -> bool {
    if type_named(ty, "WorkflowContext") {
        return true;
    }
    let syn::Type::Path(p) = ty else { return false };
    let Some(syn::PathArguments::AngleBracketed(args)) = p.path.segments.last().map(|s| &s.arguments) else {
        return false;
    };
    matches!(args.args.first(), Some(syn::GenericArgument::Type(syn::Type::Path(t))) if t.path.is_ident("Self"))
}

/// Workflow code (`#[run]`, an async handler) takes the context as its first parameter.
pub(crate) fn require_context_first(sig: &syn::Signature, what: &str, errors: &mut Errors) {
    let has_ctx = matches!(sig.inputs.first(), Some(syn::FnArg::Typed(pt)) if is_workflow_context(&pt.ty));
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

/// The typed parameters after the first `skip` (the receiver or the context), each refused
/// with `borrowed` when it is a reference: arguments are decoded from payloads, so owned.
pub(crate) fn owned_args(sig: &syn::Signature, skip: usize, borrowed: &str, errors: &mut Errors) -> Vec<syn::Type> {
    sig.inputs
        .iter()
        .skip(skip)
        .filter_map(|a| match a {
            syn::FnArg::Typed(pt) => {
                if let syn::Type::Reference(r) = &*pt.ty {
                    errors.push(syn::Error::new_spanned(r, borrowed));
                }
                Some((*pt.ty).clone())
            }
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The owned type a borrowed argument most likely meant (`&str` → `String`, `&[T]` → `Vec<T>`,
/// `&T` → `T`): used to still generate a definition beside the error that refused the borrow.
pub(crate) fn owned_guess(ty: &syn::Type) -> syn::Type {
    let syn::Type::Reference(r) = ty else {
        return ty.clone();
    };
    match &*r.elem {
        syn::Type::Path(p) if p.path.is_ident("str") => syn::parse_quote!(::std::string::String),
        syn::Type::Slice(s) => {
            let elem = &s.elem;
            syn::parse_quote!(::std::vec::Vec<#elem>)
        }
        other => owned_guess(other),
    }
}

/// A doc comment as plain text: its lines trimmed and joined.
pub(crate) fn doc_text(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident(symbol::DOC))
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

/// Tokens as a person writes them: they print spaced (`Vec < Item >`, `item : Item`).
pub(crate) fn written(tokens: impl quote::ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :", ":")
        .replace("& ", "&")
}
