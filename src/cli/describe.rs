//! `grpc-replay describe SYMBOL`.

use super::args::DescribeArgs;
use super::check::emit;
use super::exit::Exit;
use super::reflect::catalog_pool;
use crate::describe::{describe as describe_symbol, find_symbol, symbol_names};
use crate::matching::closest;
use crate::protos::missing_protos_hint;

/// Prints the symbol's definition; an unknown symbol is an error with suggestions.
pub(super) fn describe(args: DescribeArgs) -> Exit {
    let pool = match catalog_pool(&args.catalog) {
        Ok(pool) => pool,
        Err(exit) => return exit,
    };
    match find_symbol(&pool, &args.symbol) {
        Some(symbol) => {
            emit(&describe_symbol(&symbol));
            Exit::Passed
        }
        None => {
            let names = symbol_names(&pool);
            let hint = missing_protos_hint(&pool, &args.symbol).or_else(|| {
                closest(&args.symbol, names.iter().map(String::as_str))
                    .map(|name| format!("did you mean `{name}`? (names are case-sensitive)"))
            });
            eprintln!(
                "error: no service, method, message or enum `{}`{}",
                args.symbol,
                hint.map(|h| format!("\n  help: {h}")).unwrap_or_default()
            );
            Exit::Invalid
        }
    }
}
