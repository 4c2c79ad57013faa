//! Statements: tokens → `keyword args... [{ ... }]`.
//!
//! keepalived's grammar is a list of statements, one per line; a statement
//! whose line ends in `{` (or is followed by a line starting with `{`) opens
//! a block that runs to the matching `}`. This layer only finds statements
//! and block boundaries; what a keyword means is the builder's business.
//!
//! Not written with nom, unlike the token grammar inside a line: the
//! lexer hands out tokens a line at a time (a large file is never held
//! whole) and nom 8 parses in-memory `&str`/`&[u8]`; this grammar has
//! three cases and needs one token of look-ahead across a line end.
//!
//! Owns: [`Stmt`], [`Word`] and the block boundaries. May not: give any
//! keyword a meaning, or read files (the lexer does).

use super::lexer::{Lexer, Pos, TokKind, Token};

/// A word with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    /// See [`Token::escaped`].
    pub escaped: Option<Box<str>>,
    pub pos: Pos,
}

impl Word {
    /// The word as keepalived reads it with escapes everywhere (`regex`).
    pub fn escaped_text(&self) -> &str {
        self.escaped.as_deref().unwrap_or(&self.text)
    }
}

/// `keyword args... [{`.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub keyword: Word,
    pub args: Vec<Word>,
    /// The statement opens a block; its content follows as more items
    /// up to the matching [`Item::Close`].
    pub block: bool,
    /// Position of the `{`, when there is one.
    pub open: Pos,
}

#[derive(Debug)]
pub(crate) enum Item {
    Stmt(Stmt),
    /// A `}`.
    Close(Pos),
    /// End of input.
    Eof,
}

/// Pulls statements from a [`Lexer`].
pub(crate) struct Parser {
    pub lexer: Lexer,
}

impl Parser {
    pub fn new(lexer: Lexer) -> Self {
        Parser { lexer }
    }

    fn error(&mut self, pos: Pos, msg: impl Into<String>) {
        let file = self.lexer.file_of(pos).clone();
        self.lexer.diagnostics.push(super::diag::Diagnostic::error(
            &file, pos.line, pos.col, msg,
        ));
    }

    /// The next statement, `}` or end of input.
    pub fn next_item(&mut self) -> Item {
        loop {
            let Some(tok) = self.lexer.next_token() else {
                return Item::Eof;
            };
            match tok.kind {
                TokKind::Eol => continue,
                TokKind::Close => return Item::Close(tok.pos),
                TokKind::Open => {
                    self.error(tok.pos, "\"{\" without a keyword before it");
                    self.skip_block();
                    continue;
                }
                TokKind::Word => return Item::Stmt(self.statement(tok)),
            }
        }
    }

    fn statement(&mut self, keyword: Token) -> Stmt {
        let mut args = Vec::new();
        // Where the statement's block opens, if it has one.
        let mut open = None;
        while let Some(next) = self.lexer.peek() {
            match next.kind {
                TokKind::Word => {
                    if let Some(t) = self.lexer.next_token() {
                        args.push(Word {
                            text: t.text,
                            escaped: t.escaped,
                            pos: t.pos,
                        });
                    }
                }
                TokKind::Open => {
                    open = Some(next.pos);
                    self.lexer.next_token();
                    break;
                }
                TokKind::Close => break,
                TokKind::Eol => {
                    self.lexer.next_token();
                    // A `{` alone at the start of the next line opens the
                    // block of this statement.
                    while let Some(t) = self.lexer.peek() {
                        if t.kind == TokKind::Eol {
                            self.lexer.next_token();
                        } else {
                            break;
                        }
                    }
                    if let Some(t) = self.lexer.peek()
                        && t.kind == TokKind::Open
                    {
                        open = Some(t.pos);
                        self.lexer.next_token();
                    }
                    break;
                }
            }
        }
        Stmt {
            keyword: Word {
                text: keyword.text,
                escaped: None,
                pos: keyword.pos,
            },
            args,
            block: open.is_some(),
            open: open.unwrap_or_default(),
        }
    }

    /// Skip the rest of a block whose `{` was just read, including nested
    /// blocks, up to its `}`. Returns false if the input ended first.
    pub fn skip_block(&mut self) -> bool {
        let mut depth = 1usize;
        while let Some(t) = self.lexer.next_token() {
            match t.kind {
                TokKind::Open => depth += 1,
                TokKind::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }
}
