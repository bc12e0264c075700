//! Compile tests of the macros: `tests/ui/pass` must compile, `tests/ui/fail` must fail with
//! exactly the errors in the `.stderr` files beside them (`TRYBUILD=overwrite` to update).
