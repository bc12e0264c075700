//! `#[activity]` on an `async fn`: the function becomes a unit struct of the same name that
//! implements `ActivityDefinition` and `Activity`; its code stays callable as `name::run(…)`.

use crate::errors::Errors;
use crate::options::{ActivityArgs, parse_args, runtime_path};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

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

/// Whether a type is written as `…::Name` or `…::Name<…>`.
pub(crate) fn type_named(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options: ActivityArgs = parse_args(args, &mut errors);
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new_spanned(
                &item,
                "`#[activity]` goes on an `async fn` (a free function; its arguments are the activity's input)",
            )
            .to_compile_error();
            return quote!(#e #item);
        }
    };
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "an activity must be an `async fn`: add `async` before `fn`",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "an activity cannot be generic: it is registered and called by one wire name, with concrete types",
        ));
    }
    let mut ctx_param = false;
    let mut arg_types = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            syn::FnArg::Receiver(r) => errors.push(syn::Error::new_spanned(
                r,
                "`#[activity]` goes on a free `async fn`; pass shared resources (a pool, a client) as a captured \
                 value in the worker instead of `self`",
            )),
            syn::FnArg::Typed(pt) if i == 0 && type_named(&pt.ty, "ActivityContext") => ctx_param = true,
            syn::FnArg::Typed(pt) => {
                if let syn::Type::Reference(r) = &*pt.ty {
                    errors.push(syn::Error::new_spanned(
                        r,
                        "activity arguments are decoded from payloads and must be owned: remove the `&`",
                    ));
                }
                arg_types.push((*pt.ty).clone());
            }
        }
    }
    let output = match &sig.output {
        syn::ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => Some(ok.clone()),
            None => {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "an activity returns `Result<T, ActivityError>` (or any error that converts into \
                     `ActivityError`), so a failure can be retried or reported",
                ));
                None
            }
        },
        syn::ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "an activity returns `Result<T, ActivityError>`: add `-> Result<(), ActivityError>`",
            ));
            None
        }
    };
    if !errors.is_empty() {
        // The function stays as written, so one mistake does not cascade into others.
        let compile_errors = errors.to_compile_errors();
        return quote!(#compile_errors #func);
    }
    let output = output.expect("checked above");

    let krate = runtime_path(&options.krate);
    let private = quote!(#krate::__private);
    let ident = &sig.ident;
    let vis = &func.vis;
    let wire_name = options.name.clone().unwrap_or_else(|| ident.to_string());
    let doc_attrs: Vec<&syn::Attribute> = func.attrs.iter().filter(|a| a.path().is_ident("doc")).collect();
    let other_attrs: Vec<&syn::Attribute> = func.attrs.iter().filter(|a| !a.path().is_ident("doc")).collect();
    let arg_names: Vec<syn::Ident> = (0..arg_types.len()).map(|i| format_ident!("__arg{}", i)).collect();
    let ctx_arg = ctx_param.then(|| quote!(ctx,));
    let inputs = &sig.inputs;
    let ret = &sig.output;
    let block = &func.block;
    let defaults = default_options(&options, &private);
    let send_check = quote_spanned! {sig.ident.span()=>
        #private::assert_send_activity_future(#ident::run(#ctx_arg #(#arg_names),*))
    };

    quote! {
        #(#doc_attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident;

        impl #ident {
            /// Runs the activity's code directly, without a worker (handy in tests).
            #(#other_attrs)*
            #vis async fn run(#inputs) #ret #block
        }

        impl #private::ActivityDefinition for #ident {
            const NAME: &'static str = #wire_name;
            type Input = (#(#arg_types,)*);
            type Output = #output;
            fn default_options() -> #private::ActivityOptions {
                #defaults
            }
        }

        impl #private::Activity for #ident {
            fn execute(
                &self,
                ctx: #private::ActivityContext,
                (#(#arg_names,)*): Self::Input,
            ) -> #private::BoxFuture<'static, ::core::result::Result<Self::Output, #private::ActivityError>> {
                let _ = &ctx;
                ::std::boxed::Box::pin(async move {
                    #send_check.await.map_err(::core::convert::Into::into)
                })
            }
        }
    }
}

fn default_options(options: &ActivityArgs, private: &TokenStream) -> TokenStream {
    let opt = |d: &Option<crate::options::DurationLit>| match d {
        Some(d) => {
            let t = d.tokens();
            quote!(::core::option::Option::Some(#t))
        }
        None => quote!(::core::option::Option::None),
    };
    let start_to_close = opt(&options.start_to_close_timeout);
    let schedule_to_close = opt(&options.schedule_to_close_timeout);
    let schedule_to_start = opt(&options.schedule_to_start_timeout);
    let heartbeat = opt(&options.heartbeat_timeout);
    let task_queue = match &options.task_queue {
        Some(q) => quote!(::core::option::Option::Some(::std::string::String::from(#q))),
        None => quote!(::core::option::Option::None),
    };
    let retry = match &options.retry {
        None => quote!(::core::option::Option::None),
        Some(r) => {
            let initial = opt(&r.initial_interval);
            let maximum = opt(&r.maximum_interval);
            let backoff = match r.backoff_coefficient {
                Some(b) => quote!(::core::option::Option::Some(#b)),
                None => quote!(::core::option::Option::None),
            };
            let attempts = r.maximum_attempts.unwrap_or(0);
            let types = &r.non_retryable_error_types.0;
            quote!(::core::option::Option::Some(#private::RetryPolicy {
                initial_interval: #initial,
                backoff_coefficient: #backoff,
                maximum_interval: #maximum,
                maximum_attempts: #attempts,
                non_retryable_error_types: ::std::vec![#(::std::string::String::from(#types)),*],
            }))
        }
    };
    quote! {
        #private::ActivityOptions {
            start_to_close_timeout: #start_to_close,
            schedule_to_close_timeout: #schedule_to_close,
            schedule_to_start_timeout: #schedule_to_start,
            heartbeat_timeout: #heartbeat,
            task_queue: #task_queue,
            retry_policy: #retry,
            ..::core::default::Default::default()
        }
    }
}
