//! `#[activity]` on an `async fn`: the function becomes a unit struct of the same name that
//! implements `ActivityDefinition` and `Activity`; its code stays callable as `name::run(…)`.

use crate::errors::Errors;
use crate::options::{ActivityArgs, parse_args, runtime_path};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
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

/// `__arg0, __arg1, …`: names for arguments in generated code.
pub(crate) fn arg_names(count: usize) -> Vec<syn::Ident> {
    (0..count).map(|i| format_ident!("__arg{}", i)).collect()
}

/// Whether the function may (must) take `&self`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Receiver {
    Forbidden,
    Required,
}

/// What an activity signature says, after checking it.
pub(crate) struct Analyzed {
    pub(crate) ctx_param: bool,
    pub(crate) arg_types: Vec<syn::Type>,
    pub(crate) output: Option<syn::Type>,
}

/// Checks an activity signature (async, not generic, optional context first, owned
/// arguments, a `Result` return), adding one error per problem.
pub(crate) fn analyze(
    sig: &syn::Signature,
    receiver: Receiver,
    private: &TokenStream,
    errors: &mut Errors,
) -> Analyzed {
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
    let first_arg = if receiver == Receiver::Required { 1 } else { 0 };
    if receiver == Receiver::Required {
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
                arg_types.push((*pt.ty).clone());
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
    );
    Analyzed {
        ctx_param,
        arg_types,
        output,
    }
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
    let krate = runtime_path(&options.krate);
    let private = quote!(#krate::__private);
    let analyzed = analyze(sig, Receiver::Forbidden, &private, &mut errors);
    let ctx_param = analyzed.ctx_param;
    let arg_types = analyzed.arg_types;
    let output = analyzed.output;
    if !errors.is_empty() {
        // The function stays as written, so one mistake does not cascade into others.
        let compile_errors = errors.to_compile_errors();
        return quote!(#compile_errors #func);
    }
    let output = output.expect("checked above");

    let ident = &sig.ident;
    let vis = &func.vis;
    let wire_name = options.name.clone().unwrap_or_else(|| ident.to_string());
    let doc_attrs: Vec<&syn::Attribute> = func.attrs.iter().filter(|a| a.path().is_ident("doc")).collect();
    let other_attrs: Vec<&syn::Attribute> = func.attrs.iter().filter(|a| !a.path().is_ident("doc")).collect();
    let arg_names = arg_names(arg_types.len());
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

/// `#[activities]` on an impl block: each `#[activity]` method becomes an activity bound to a
/// shared instance of the type (a database pool, an HTTP client), registered all together
/// with `Worker::builder(..).activities(instance)`. Each gets a marker type
/// `{Type}{Method}` (e.g. `PaymentsCharge`) that workflow code calls.
pub(crate) fn expand_group(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options: ActivityArgs = parse_args(args, &mut errors);
    if options.name.is_some() || options.start_to_close_timeout.is_some() || options.retry.is_some() {
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            "put activity options on each `#[activity(...)]` method; `#[activities]` takes only `crate = \"…\"`",
        ));
    }
    let mut imp: syn::ItemImpl = match syn::parse2(item.clone()) {
        Ok(i) => i,
        Err(_) => {
            let e = syn::Error::new_spanned(&item, "`#[activities]` goes on an `impl` block of the shared state")
                .to_compile_error();
            return quote!(#e #item);
        }
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
    let krate = runtime_path(&options.krate);
    let private = quote!(#krate::__private);
    let mut definitions = Vec::new();
    let mut registrations = Vec::new();
    for item in &mut imp.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        let Some(index) = f.attrs.iter().position(|a| a.path().is_ident("activity")) else {
            continue;
        };
        let attr = f.attrs.remove(index);
        let method_options: ActivityArgs = match &attr.meta {
            syn::Meta::List(list) => parse_args(list.tokens.clone(), &mut errors),
            _ => ActivityArgs::default(),
        };
        let mut method_errors = Errors::default();
        let analyzed = analyze(&f.sig, Receiver::Required, &private, &mut method_errors);
        if !method_errors.is_empty() {
            // Reported, and nothing generated for this method, so nothing cascades from it.
            errors.extend(method_errors);
            continue;
        }
        let Some(output) = analyzed.output else { continue };
        let method = &f.sig.ident;
        let marker = format_ident!("{}{}", self_ident, camel(&method.to_string()));
        let vis = &f.vis;
        let wire_name = method_options.name.clone().unwrap_or_else(|| method.to_string());
        let arg_types = &analyzed.arg_types;
        let arg_names = arg_names(arg_types.len());
        let ctx_arg = analyzed.ctx_param.then(|| quote!(ctx,));
        let defaults = default_options(&method_options, &private);
        let doc = format!("The `{wire_name}` activity: [`{self_ident}::{method}`] bound to shared state.");
        definitions.push(quote! {
            #[doc = #doc]
            #[derive(Clone, Copy, Debug, Default)]
            #vis struct #marker;

            impl #private::ActivityDefinition for #marker {
                const NAME: &'static str = #wire_name;
                type Input = (#(#arg_types,)*);
                type Output = #output;
                fn default_options() -> #private::ActivityOptions {
                    #defaults
                }
            }
        });
        registrations.push(quote! {
            {
                let this = ::std::sync::Arc::clone(&this);
                registry.add::<#marker, _, _>(move |ctx, (#(#arg_names,)*)| {
                    let this = ::std::sync::Arc::clone(&this);
                    async move {
                        let _ = &ctx;
                        this.#method(#ctx_arg #(#arg_names),*).await.map_err(::core::convert::Into::into)
                    }
                });
            }
        });
    }
    if registrations.is_empty() && errors.is_empty() {
        errors.push(syn::Error::new_spanned(
            &imp.self_ty,
            "`#[activities]` found no `#[activity]` method in this impl block",
        ));
    }
    let compile_errors = errors.to_compile_errors();
    quote! {
        #compile_errors
        #imp
        #(#definitions)*

        impl #private::ActivityGroup for #self_ident {
            fn register(this: ::std::sync::Arc<Self>, registry: &mut #private::ActivityRegistry) {
                #(#registrations)*
            }
        }
    }
}

/// `charge_card` → `ChargeCard`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
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
