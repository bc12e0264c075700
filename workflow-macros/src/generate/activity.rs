//! What `#[activity]` and `#[activities]` generate from the model: the marker type, its
//! definition (wire name, input, output, default options) and how the worker runs it.

use crate::ast::activity::ActivitySig;
use crate::options::{ActivityArgs, DurationLit};
use crate::signature::arg_names;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

/// `ActivityDefinition` for a marker type: what workflow code calls.
pub(crate) fn definition(
    marker: &syn::Ident,
    wire_name: &str,
    sig: &ActivitySig,
    options: &ActivityArgs,
    private: &TokenStream,
) -> TokenStream {
    let arg_types = &sig.arg_types;
    let output = &sig.output;
    let defaults = default_options(options, private);
    quote! {
        impl #private::ActivityDefinition for #marker {
            const NAME: &'static str = #wire_name;
            type Input = (#(#arg_types,)*);
            type Output = #output;
            fn default_options() -> #private::ActivityOptions {
                #defaults
            }
        }
    }
}

/// A free `#[activity]` function: the unit struct of its name with the code as `name::run`,
/// its definition, and `Activity`. When the signature has errors (`sound` is false), the same
/// items stand in with an `Activity` that never runs (the crate does not compile anyway), so
/// the registrations and calls elsewhere add no second error.
pub(crate) fn function(
    func: &syn::ItemFn,
    wire_name: &str,
    sig: &ActivitySig,
    options: &ActivityArgs,
    private: &TokenStream,
    sound: bool,
) -> TokenStream {
    let ident = &func.sig.ident;
    let vis = &func.vis;
    let doc_attrs = func.attrs.iter().filter(|a| a.path().is_ident(crate::symbol::DOC));
    let other_attrs = func.attrs.iter().filter(|a| !a.path().is_ident(crate::symbol::DOC));
    let (asyncness, inputs, ret, block) = (&func.sig.asyncness, &func.sig.inputs, &func.sig.output, &func.block);
    let definition = definition(ident, wire_name, sig, options, private);
    let execute = if sound {
        let arg_names = arg_names(sig.arg_types.len());
        let ctx_arg = sig.ctx_param.then(|| quote!(ctx,));
        let send_check = quote_spanned! {ident.span()=>
            #private::assert_send_activity_future(#ident::run(#ctx_arg #(#arg_names),*))
        };
        quote! {
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
    } else {
        quote! {
            fn execute(
                &self,
                _ctx: #private::ActivityContext,
                _input: Self::Input,
            ) -> #private::BoxFuture<'static, ::core::result::Result<Self::Output, #private::ActivityError>> {
                ::std::boxed::Box::pin(::core::future::pending())
            }
        }
    };
    quote! {
        #(#doc_attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident;

        impl #ident {
            /// Runs the activity's code directly, without a worker (handy in tests).
            #(#other_attrs)*
            #vis #asyncness fn run(#inputs) #ret #block
        }

        #definition

        impl #private::Activity for #ident {
            #execute
        }
    }
}

/// A method of an `#[activities]` impl: its marker type (`{Type}{Method}`) and definition.
pub(crate) fn group_member(
    marker: &syn::Ident,
    vis: &syn::Visibility,
    doc: &str,
    wire_name: &str,
    sig: &ActivitySig,
    options: &ActivityArgs,
    private: &TokenStream,
) -> TokenStream {
    let definition = definition(marker, wire_name, sig, options, private);
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #marker;

        #definition
    }
}

/// Registers one method of an `#[activities]` impl on the shared instance `this`.
pub(crate) fn group_registration(marker: &syn::Ident, method: &syn::Ident, sig: &ActivitySig) -> TokenStream {
    let arg_names = arg_names(sig.arg_types.len());
    let ctx_arg = sig.ctx_param.then(|| quote!(ctx,));
    quote! {
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
    }
}

/// `ActivityGroup` for the shared state: registers every sound method.
pub(crate) fn group(self_ident: &syn::Ident, registrations: &[TokenStream], private: &TokenStream) -> TokenStream {
    quote! {
        impl #private::ActivityGroup for #self_ident {
            fn register(this: ::std::sync::Arc<Self>, registry: &mut #private::ActivityRegistry) {
                #(#registrations)*
            }
        }
    }
}

/// The activity's default options, from the attribute.
fn default_options(options: &ActivityArgs, private: &TokenStream) -> TokenStream {
    let opt = |d: &Option<DurationLit>| match d {
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
