//! What `#[workflow]` generates from the model: the typed handle, the definition, the handler
//! registrations and the typed client stubs, one function per item.

use crate::ast::workflow::{Handler, Run, WorkflowImpl};
use crate::signature::arg_names;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The handle type's name: `OrderWorkflow` → `OrderWorkflowHandle`.
pub(crate) fn handle_ident(ty: &syn::Ident) -> syn::Ident {
    format_ident!("{}Handle", ty)
}

/// The typed handle beside the state struct: `NameHandle`, a newtype over `WorkflowHandle`
/// that gains one method per signal, query and update.
pub(crate) fn handle_type(s: &syn::ItemStruct, private: &TokenStream) -> TokenStream {
    let ident = &s.ident;
    let vis = &s.vis;
    let handle = handle_ident(ident);
    let doc = format!("A handle to a running [`{ident}`]: its signals and queries as methods.");
    quote! {
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

/// Everything generated beside a workflow's impl block.
pub(crate) struct WorkflowItems<'a> {
    pub(crate) model: &'a WorkflowImpl,
    pub(crate) ident: &'a syn::Ident,
    pub(crate) run: &'a Run,
    pub(crate) self_ty: &'a syn::Type,
    pub(crate) private: &'a TokenStream,
}

impl WorkflowItems<'_> {
    pub(crate) fn generate(&self) -> TokenStream {
        let state_check = self.state_check();
        let definition = self.definition();
        let workflow = self.workflow_impl();
        let client_stubs = self.client_stubs();
        let handle_stubs = self.handle_stubs();
        quote! {
            #state_check

            #definition

            #workflow

            #client_stubs

            #handle_stubs
        }
    }

    fn run_arg_names(&self) -> Vec<syn::Ident> {
        arg_names(self.run.arg_types.len())
    }

    /// The state struct carries `#[workflow]` and implements `Default`: each error on the impl
    /// block's type.
    fn state_check(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        quote_spanned! {self.self_ty.span()=>
            const _: fn() = || {
                #private::assert_workflow_struct::<#ident>();
                #private::assert_default_state::<#ident>();
            };
        }
    }

    /// `WorkflowDefinition`: the wire name, the input (the run's arguments) and the output.
    fn definition(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        let wire_name = &self.model.wire_name;
        let run_args = &self.run.arg_types;
        let output = &self.run.output;
        quote! {
            impl #private::WorkflowDefinition for #ident {
                const NAME: &'static str = #wire_name;
                type Input = (#(#run_args,)*);
                type Output = #output;
            }
        }
    }

    /// `Workflow`: the state's start value, the entry point and the handler tables.
    fn workflow_impl(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        let run_method = &self.run.method;
        let run_arg_names = self.run_arg_names();
        let signals = self.model.signals.iter().map(|h| self.signal_registration(h));
        let queries = self.model.queries.iter().map(|h| self.query_registration(h));
        let updates = self.model.updates.iter().map(|h| self.update_registration(h));
        quote! {
            impl #private::Workflow for #ident {
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
                    #(#signals)*
                    #(#queries)*
                    #(#updates)*
                }
            }
        }
    }

    fn signal_registration(&self, h: &Handler) -> TokenStream {
        let private = self.private;
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let describe = self.describe(h, "Signal");
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
    }

    fn query_registration(&self, h: &Handler) -> TokenStream {
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let describe = self.describe(h, "Query");
        quote!(handlers.query_raw::<(#(#types,)*), _>(#name, |state, (#(#names,)*)| state.#method(#(#names),*)); #describe)
    }

    fn update_registration(&self, h: &Handler) -> TokenStream {
        let private = self.private;
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
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
        let describe = self.describe(h, "Update");
        if h.is_async {
            let call = if h.fallible {
                quote!(Self::#method(ctx, #(#names),*).await .map_err(::core::convert::Into::<#private::WorkflowError>::into))
            } else {
                quote!(::core::result::Result::Ok::<_, #private::WorkflowError>(Self::#method(ctx, #(#names),*).await))
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
        let call = if h.fallible {
            quote!(state.#method(#(#names),*).map_err(::core::convert::Into::<#private::WorkflowError>::into))
        } else {
            quote!(::core::result::Result::Ok::<_, #private::WorkflowError>(state.#method(#(#names),*)))
        };
        quote! {
            handlers.update_raw::<(#(#types,)*), _, _, _>(#name, |state, (#(#names,)*)| #call, #validator);
            #describe
        }
    }

    /// Registers a handler's description, when its method has a doc comment.
    fn describe(&self, h: &Handler, kind: &str) -> TokenStream {
        if h.description.is_empty() {
            return quote!();
        }
        let private = self.private;
        let kind = syn::Ident::new(kind, proc_macro2::Span::call_site());
        let (name, description) = (&h.wire_name, &h.description);
        quote!(handlers.describe(#private::HandlerKind::#kind, #name, #description);)
    }

    /// The associated functions on the workflow type: `start`, `execute`, `schedule`, `handle`,
    /// and one `<handler>_with_start` per signal and update.
    fn client_stubs(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        let handle = handle_ident(ident);
        let output = &self.run.output;
        let run_args = &self.run.arg_types;
        let run_arg_names = self.run_arg_names();
        let signal_with_start = self.model.signals.iter().map(|h| self.signal_with_start(h));
        let update_with_start = self.model.updates.iter().map(|h| self.update_with_start(h));
        quote! {
            impl #ident {
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

                /// Creates a schedule that starts this workflow with these arguments at the times
                /// of `options.spec`; returns the schedule's handle.
                pub async fn schedule(
                    client: &#private::Client,
                    schedule_id: impl ::core::convert::Into<::std::string::String>,
                    options: #private::ScheduleOptions,
                    #(#run_arg_names: #run_args),*
                ) -> ::core::result::Result<#private::ScheduleHandle, #private::ClientError> {
                    client.create_schedule::<Self>(schedule_id, options, (#(#run_arg_names,)*)).await
                }

                /// A typed handle to an existing run of this workflow (its latest run).
                pub fn handle(client: &#private::Client, workflow_id: impl ::core::convert::Into<::std::string::String>) -> #handle {
                    #handle::from(client.handle::<Self>(workflow_id, ::core::option::Option::None))
                }

                #(#signal_with_start)*
                #(#update_with_start)*
            }
        }
    }

    fn signal_with_start(&self, h: &Handler) -> TokenStream {
        let handle = handle_ident(self.ident);
        let doc = format!(
            "Sends the `{}` signal, starting the workflow first if it is not running.",
            h.wire_name
        );
        let call = quote!(signal_with_start_by_name::<Self, _>);
        self.with_start(h, "__signal_arg", &doc, quote!(#handle), call, quote!(#handle::from))
    }

    fn update_with_start(&self, h: &Handler) -> TokenStream {
        let handle = handle_ident(self.ident);
        let out = &h.output;
        let doc = format!(
            "Runs the `{}` update, starting the workflow first if it is not running; returns the handle and \
             the update's result.",
            h.wire_name
        );
        let call = quote!(update_with_start_by_name::<Self, _, #out>);
        let map = quote!(|(handle, result)| (#handle::from(handle), result));
        self.with_start(h, "__update_arg", &doc, quote!((#handle, #out)), call, map)
    }

    /// `<handler>_with_start(client, options, run args…, handler args…)`: the client's
    /// `call` with both argument lists, its answer mapped by `map` to `returns`.
    fn with_start(
        &self,
        h: &Handler,
        arg_prefix: &str,
        doc: &str,
        returns: TokenStream,
        call: TokenStream,
        map: TokenStream,
    ) -> TokenStream {
        let private = self.private;
        let (name, types) = (&h.wire_name, &h.arg_types);
        let run_args = &self.run.arg_types;
        let run_arg_names = self.run_arg_names();
        let names: Vec<syn::Ident> = (0..types.len()).map(|i| format_ident!("{}{}", arg_prefix, i)).collect();
        let fn_name = format_ident!("{}_with_start", h.method);
        quote! {
            #[doc = #doc]
            pub async fn #fn_name(
                client: &#private::Client,
                options: #private::StartOptions,
                #(#run_arg_names: #run_args,)*
                #(#names: #types,)*
            ) -> ::core::result::Result<#returns, #private::ClientError> {
                client
                    .#call(options, (#(#run_arg_names,)*), #name, (#(#names,)*))
                    .await
                    .map(#map)
            }
        }
    }

    /// The typed handle's methods: one per signal and query, three per update.
    fn handle_stubs(&self) -> TokenStream {
        let handle = handle_ident(self.ident);
        let signals = self.model.signals.iter().map(|h| {
            let doc = format!("Sends the `{}` signal.", h.wire_name);
            self.handle_stub(h, "signal_by_name", &h.output, doc)
        });
        let queries = self.model.queries.iter().map(|h| {
            let doc = format!("Runs the `{}` query.", h.wire_name);
            self.handle_stub(h, "query_by_name", &h.output, doc)
        });
        let updates = self.model.updates.iter().map(|h| self.update_stubs(h));
        quote! {
            impl #handle {
                #(#signals)*
                #(#queries)*
                #(#updates)*
            }
        }
    }

    /// One typed method of the handle: `fn method(&self, args…) -> Result<out, ClientError>`,
    /// sending the handler's wire name and arguments through `self.0.<call>`.
    fn handle_stub(&self, h: &Handler, call: &str, out: &syn::Type, doc: String) -> TokenStream {
        let private = self.private;
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

    /// An update's methods on the handle: run it to its end, start it (`start_<update>`), and
    /// reach one sent earlier by its id (`<update>_handle`).
    fn update_stubs(&self, h: &Handler) -> TokenStream {
        let private = self.private;
        let out = &h.output;
        let doc = format!("Runs the `{}` update and waits for its result.", h.wire_name);
        let run_to_end = self.handle_stub(h, "update_by_name", out, doc);
        let (name, types) = (&h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let (start, by_id) = h.update_stub_names();
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
    }
}
