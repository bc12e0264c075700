//! `#[workflow]` on the state struct (the typed handle) and on its impl block (the entry
//! point, the handlers, the definitions and the typed client stubs): read into the model,
//! checked, then generated.
//!
//! Why two attributes: the struct's visibility is known only at the struct, and the typed
//! handle must have that visibility; the handlers are known only at the impl.

use crate::errors::Errors;
use crate::generate::workflow::{WorkflowItems, handle_type};
use crate::options::{WorkflowArgs, parse_args, private_path};
use crate::{ast, check, lint};
use proc_macro2::{Span, TokenStream};
use quote::quote;

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

fn expand_struct(args: TokenStream, mut s: syn::ItemStruct) -> TokenStream {
    let mut errors = Errors::default();
    let options: WorkflowArgs = parse_args(args, &mut errors);
    if !s.generics.params.is_empty() {
        errors.push(check::generic_workflow(&s.generics));
    }
    // Options that belong on the impl block and lint findings in the fields do not change what
    // is generated: reported beside it (no cascade).
    let mut lint_errors = Errors::default();
    if options.name.is_some() {
        lint_errors.push(syn::Error::new(
            Span::call_site(),
            "put `name = \"…\"` on the `#[workflow]` of the impl block, where the definition is generated",
        ));
    }
    if let Some(versioning) = options.versioning {
        lint_errors.push(syn::Error::new(
            versioning.span,
            "put `versioning = \"…\"` on the `#[workflow]` of the impl block, where the workflow is generated",
        ));
    }
    lint::check_state_fields(&mut s.fields, &mut lint_errors);
    let lint_errors = lint_errors.to_compile_errors();
    if !errors.is_empty() {
        let compile_errors = errors.to_compile_errors();
        return quote!(#compile_errors #lint_errors #s);
    }
    let private = private_path(&options.krate);
    let handle = handle_type(&s, &private);
    quote! {
        #lint_errors

        #s

        #handle
    }
}

fn expand_impl(args: TokenStream, mut imp: syn::ItemImpl) -> TokenStream {
    let mut errors = Errors::default();
    let options: WorkflowArgs = parse_args(args, &mut errors);
    let private = private_path(&options.krate);
    // Lint findings do not change what is generated, so the expansion still happens beside
    // them (no cascade of "trait not implemented" errors); structural errors stop it.
    let mut lint_errors = Errors::default();
    lint_methods(&mut imp, &mut lint_errors);
    let mut model = ast::workflow::read(&mut imp, &options, &private, &mut errors);
    check::update_stubs_free(&mut model, &mut errors);
    let Some(ident) = model.ident.clone() else {
        let compile_errors = errors.to_compile_errors();
        return quote!(#compile_errors #imp);
    };
    check::has_entry_point(&model, &imp.self_ty, &mut errors);
    check::unique_wire_names(&model, &mut errors);
    let run = match model.usable_run() {
        Some(run) => run,
        None => {
            // Without a sound entry point nothing can be generated: the impl stays (handler
            // attributes removed) beside the errors.
            let compile_errors = errors.to_compile_errors();
            let lint_errors = lint_errors.to_compile_errors();
            return quote!(#compile_errors #lint_errors #imp);
        }
    };
    // Errors in handlers or options: reported, and the sound part is generated beside them.
    lint_errors.extend(errors);
    let lint_errors = lint_errors.to_compile_errors();
    let generated = WorkflowItems {
        model: &model,
        ident: &ident,
        run,
        self_ty: &imp.self_ty,
        private: &private,
        versioning: options.versioning,
    }
    .generate();
    quote! {
        #lint_errors

        #imp

        #generated
    }
}

/// Everything in a workflow impl is workflow code, unless a method opts out visibly.
fn lint_methods(imp: &mut syn::ItemImpl, lint_errors: &mut Errors) {
    for item in &mut imp.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        let scope = lint::Scope::default().with_params(&f.sig);
        crate::deterministic::check_function(&mut f.attrs, &mut f.block, &scope, lint_errors);
    }
}
