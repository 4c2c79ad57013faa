//! Where a token was written: file, line and column.
//!
//! Owns: [`Pos`]. Its own file so that the lexer and the line generators
//! (`expand`) both use it without importing each other.

/// A position in the operator's files. `file` indexes the lexer's list of
/// files read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub file: u32,
    pub line: u32,
    pub col: u32,
}
