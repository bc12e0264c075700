//! `#[activity]` on an `async fn`: the function becomes a unit struct of the same name that
//! implements `ActivityDefinition` and `Activity`; its code stays callable as `name::run(…)`.
//! `#[activities]` on an impl block: each `#[activity]` method becomes an activity bound to a
//! shared instance of the type.

use crate::ast::activity::{self as model, Receiver};
use crate::errors::{Errors, parse_item};
use crate::generate::activity as generate;
use crate::options::{ActivityArgs, parse_args, private_path};
use crate::symbol;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options: ActivityArgs = parse_args(args, &mut errors);
    let func: syn::ItemFn = match parse_item(
        &item,
        "`#[activity]` goes on an `async fn` (a free function; its arguments are the activity's input)",
    ) {
        Ok(f) => f,
        Err(unchanged) => return unchanged,
    };
    let private = private_path(&options.krate);
    let sig = model::read(&func.sig, Receiver::Forbidden, &private, &mut errors);
    let compile_errors = errors.to_compile_errors();
    if sig.generic || crate::signature::receiver(&func.sig).is_some() {
        // No definition can stand for a generic function, nor for a method outside
        // `#[activities]` (a struct cannot be declared inside an impl): it stays as written.
        return quote!(#compile_errors #func);
    }
    let wire_name = options.name.clone().unwrap_or_else(|| func.sig.ident.to_string());
    let items = generate::function(&func, &wire_name, &sig, &options, &private, errors.is_empty());
    quote!(#compile_errors #items)
}

/// `#[activities]` on an impl block: each `#[activity]` method becomes an activity bound to a
/// shared instance of the type (a database pool, an HTTP client), registered all together
/// with `Worker::builder(..).activities(instance)`. Each gets a marker type
/// `{Type}{Method}` (e.g. `PaymentsCharge`) that workflow code calls. Options on the impl
/// block are every method's defaults; a method's own options override them one by one.
pub(crate) fn expand_group(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let group_options: ActivityArgs = parse_args(args, &mut errors);
    if group_options.name.is_some() {
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            "each method of `#[activities]` is its own activity, named after the method: put `name = \"…\"` \
             on the method's `#[activity(...)]`",
        ));
    }
    let mut imp: syn::ItemImpl = match parse_item(&item, "`#[activities]` goes on an `impl` block of the shared state")
    {
        Ok(i) => i,
        Err(unchanged) => return unchanged,
    };
    let self_ident = match &*imp.self_ty {
        syn::Type::Path(p) if p.qself.is_none() && imp.generics.params.is_empty() => {
            p.path.segments.last().map(|s| s.ident.clone())
        }
        _ => None,
    };
    let Some(self_ident) = self_ident else {
        let e = syn::Error::new_spanned(
            &imp.self_ty,
            "`#[activities]` goes on `impl YourType` of a non-generic type",
        )
        .to_compile_error();
        return quote!(#e #imp);
    };
    let private = private_path(&group_options.krate);
    let mut definitions = Vec::new();
    let mut registrations = Vec::new();
    for item in &mut imp.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        let Some(index) = f.attrs.iter().position(|a| a.path().is_ident(symbol::ACTIVITY)) else {
            continue;
        };
        let attr = f.attrs.remove(index);
        let method_options: ActivityArgs = match &attr.meta {
            syn::Meta::List(list) => parse_args(list.tokens.clone(), &mut errors),
            _ => ActivityArgs::default(),
        };
        let options = method_options.or_defaults(&group_options);
        let mut method_errors = Errors::default();
        let sig = model::read(&f.sig, Receiver::Required, &private, &mut method_errors);
        let sound = method_errors.is_empty();
        errors.extend(method_errors);
        if sig.generic {
            continue;
        }
        let method = &f.sig.ident;
        let marker = format_ident!("{}{}", self_ident, crate::case::camel(&method.to_string()));
        let wire_name = options.name.clone().unwrap_or_else(|| method.to_string());
        let doc = format!("The `{wire_name}` activity: [`{self_ident}::{method}`] bound to shared state.");
        definitions.push(generate::group_member(
            &marker, &f.vis, &doc, &wire_name, &sig, &options, &private,
        ));
        // A method with errors keeps its marker and definition (so calls elsewhere add no
        // second error) but is not registered.
        if sound {
            registrations.push(generate::group_registration(&marker, method, &sig));
        }
    }
    if definitions.is_empty() && errors.is_empty() {
        errors.push(syn::Error::new_spanned(
            &imp.self_ty,
            "`#[activities]` found no `#[activity]` method in this impl block",
        ));
    }
    let compile_errors = errors.to_compile_errors();
    let group = generate::group(&self_ident, &registrations, &private);
    quote! {
        #compile_errors
        #imp
        #(#definitions)*

        #group
    }
}
