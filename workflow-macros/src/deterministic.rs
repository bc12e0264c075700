//! `#[deterministic]` on a helper function, an impl (a workflow interceptor's hooks) or an
//! inline module: the lint applies to its bodies.

use crate::errors::Errors;
use crate::lint;
use crate::symbol::{self, is_attr};
use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
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
        Ok(syn::Item::Impl(mut imp)) => {
            for member in &mut imp.items {
                let syn::ImplItem::Fn(f) = member else { continue };
                let scope = lint::Scope::default().with_params(&f.sig);
                check_function(&mut f.attrs, &mut f.block, &scope, &mut errors);
            }
            quote!(#imp)
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
                "`#[deterministic]` goes on a function called from workflow code, an impl whose methods run in \
                 workflow code (a workflow interceptor), or an inline module of them",
            ));
            item
        }
    };
    let compile_errors = errors.to_compile_errors();
    quote!(#compile_errors #checked)
}

/// Lints one function (unless it opts out visibly) and removes the escape hatches.
pub(crate) fn check_function(
    attrs: &mut Vec<syn::Attribute>,
    block: &mut syn::Block,
    scope: &lint::Scope,
    errors: &mut Errors,
) {
    if !lint::fn_escape_hatch(attrs, errors) {
        lint::check_block_in(block, scope, errors);
    }
    lint::strip_escape_hatches(block);
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
            syn::Item::Fn(f) if !f.attrs.iter().any(|a| is_attr(a, symbol::ACTIVITY)) => {
                // Checked here, so an inner `#[deterministic]` would only check it twice.
                f.attrs.retain(|a| !is_attr(a, symbol::DETERMINISTIC));
                let scope = scope.clone().with_params(&f.sig);
                check_function(&mut f.attrs, &mut f.block, &scope, errors);
            }
            syn::Item::Impl(imp) if !imp.attrs.iter().any(|a| is_attr(a, symbol::ACTIVITIES)) => {
                let workflow = imp.attrs.iter().any(|a| is_attr(a, symbol::WORKFLOW));
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
