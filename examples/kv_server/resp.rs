//! RESP2, the Redis protocol: parsing requests and writing replies.
//!
//! A request is an array of bulk strings, `*<count>\r\n` then, for each argument,
//! `$<length>\r\n<bytes>\r\n`:
//!
//! ```text
//! *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n        SET k hello
//! ```
//!
//! or, typed by a person in `nc` or `telnet`, an *inline* request: one line of words
//! separated by spaces, such as `PING\r\n`. (Redis also lets inline words be quoted;
//! this parser does not.)
//!
//! The [`Parser`] finds arguments without copying them: it records where each one lies in
//! the connection's buffer, as ranges that stay valid until the next request is parsed.
//! It is resumable: when a request is cut short by the end of what has been read so far,
//! it remembers how far it got, and the next call goes on from there rather than from the
//! request's first byte, so a large request arriving in many reads is parsed once, not
//! once per read.
//!
//! One argument of a request may be read elsewhere: a bulk string of at least [`BIG_ARG`]
//! bytes that has not all arrived gets a buffer of its own, of exactly its size, which the
//! connection reads into and a `SET` keeps as the value, without a copy (Redis does the
//! same above the same size). The connection's buffer never holds it.
//!
//! Replies are appended to a `Vec<u8>` by the `push_*` functions, so that all the replies
//! to a batch of pipelined requests leave in one write.

use std::fmt;
use std::ops::Range;

/// Longest bulk string accepted: Redis's default `proto-max-bulk-len`, 512 MiB. (The
/// connection's buffer grows as the bytes arrive, not when the length is announced.)
pub const MAX_BULK: usize = 512 * 1024 * 1024;

/// Most arguments in one request: as in Redis, any count that fits a C `int`.
pub const MAX_ARGS: usize = i32::MAX as usize;

/// The smallest bulk string read into a buffer of its own (Redis's
/// `PROTO_MBULK_BIG_ARG`, 32 KiB). Below it, copying the argument out of the connection's
/// buffer costs less than an allocation of its own; above, the copy and the buffer grown
/// to hold the whole argument would double what the argument costs in memory (a 32 MiB
/// value peaked at 64 MB that way).
pub const BIG_ARG: usize = 32 * 1024;

/// Longest inline request, as in Redis.
pub const MAX_INLINE: usize = 64 * 1024;

/// Most characters in a `*<count>` or `$<length>` number: 19 digits and a sign fit any
/// `i64`.
const MAX_DIGITS: usize = 20;

/// A request that breaks the protocol. The server replies with `-ERR Protocol error:
/// <this>` and closes the connection, since it cannot know where the next request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// `*` followed by something other than a number in range, then `\r\n`.
    InvalidMultibulkLength,
    /// An argument that does not start with `$`; holds the byte found instead.
    ExpectedBulk(u8),
    /// `$` followed by something other than a number from 0 to [`MAX_BULK`], then `\r\n`.
    InvalidBulkLength,
    /// An inline request with no `\n` within [`MAX_INLINE`] bytes.
    TooBigInline,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            Self::ExpectedBulk(byte) => write!(f, "expected '$', got '{}'", byte.escape_ascii()),
            Self::InvalidBulkLength => f.write_str("invalid bulk length"),
            Self::TooBigInline => f.write_str("too big inline request"),
        }
    }
}

/// A parsed request: its arguments, borrowed from the connection's buffer (no copy), but
/// for a large one read into a buffer of its own, which the request owns.
#[derive(Debug)]
pub struct Request<'a> {
    /// The bytes the request was parsed from, starting with its first byte.
    bytes: &'a [u8],
    /// Where each argument lies in `bytes` (an empty range for the large one).
    args: &'a [Range<usize>],
    /// The argument read into a buffer of its own, if any: its index, and its bytes.
    big: Option<(usize, Vec<u8>)>,
}

impl Request<'_> {
    /// How many arguments, the command name included.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Argument `i` (0 is the command name), if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match &self.big {
            Some((at, bytes)) if *at == i => Some(bytes),
            _ => self.args.get(i).map(|range| &self.bytes[range.clone()]),
        }
    }

    /// Argument `i`, which the caller has checked exists.
    pub fn arg(&self, i: usize) -> &[u8] {
        self.get(i)
            .expect("the caller checked that the argument exists")
    }

    /// The arguments from `i` on.
    pub fn args_from(&self, i: usize) -> impl Iterator<Item = &[u8]> {
        (i.min(self.len())..self.len()).map(|i| self.arg(i))
    }

    /// Argument `i` as an owned buffer, if it was read into one of its own: a command
    /// that stores it keeps that buffer rather than copying it. The argument reads as
    /// empty afterwards.
    pub fn take_big(&mut self, i: usize) -> Option<Vec<u8>> {
        match self.big.take() {
            Some((at, bytes)) if at == i => Some(bytes),
            other => {
                self.big = other;
                None
            }
        }
    }
}

/// A large bulk argument being read into a buffer of its own (see [`BIG_ARG`]).
#[derive(Debug)]
struct Big {
    /// Which argument of the request it is.
    index: usize,
    /// Its bytes and the `\r\n` after them: allocated zeroed at once, at the size the
    /// length announced (the pages cost memory only as the bytes arrive).
    data: Vec<u8>,
    /// How many bytes of `data` have arrived.
    filled: usize,
}

/// Where the parser stands in the request being parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing of the request is parsed yet.
    Start,
    /// The `*<count>` header is parsed; `remaining` arguments are still to come.
    Multibulk { remaining: usize },
    /// An inline request, searched for its `\n` up to (not including) `scanned`.
    Inline { scanned: usize },
}

/// Splits a byte stream into requests; see the module documentation.
///
/// `parse` is given the buffered bytes that start at the first byte of the request being
/// parsed. When it returns a request's length, the caller handles the request (its
/// arguments are [`args`](Self::args)) and then passes the bytes after it. When it
/// returns `None`, the caller reads more and passes the same request start again, with
/// the new bytes after the old; the bytes may have moved in memory, but positions are
/// relative to the request start, so nothing is lost.
#[derive(Debug)]
pub struct Parser {
    /// The current request's arguments, as positions relative to its first byte. Reused
    /// from request to request, so parsing allocates nothing in the steady state.
    args: Vec<Range<usize>>,
    /// How far the current request has been parsed, relative to its first byte.
    pos: usize,
    /// How many bytes the current request needs at least, relative to its first byte, as
    /// far as the parser knows: the end of the bulk string it is reading, or 0.
    wanted: usize,
    /// What comes next.
    state: State,
    /// A large argument of the current request, read into a buffer of its own: while
    /// `filled < data.len()`, the caller reads into it ([`big_room`](Self::big_room)).
    /// At most one per request; another large one goes through the caller's buffer.
    /// Boxed: large arguments are rare, and the parser lives in every connection's
    /// future, which the box keeps 32 bytes smaller.
    big: Option<Box<Big>>,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self {
            args: Vec::with_capacity(8),
            pos: 0,
            wanted: 0,
            state: State::Start,
            big: None,
        }
    }

    /// Parses the request at the start of `buf`. Returns its length in bytes once it is
    /// complete, `None` if more bytes are needed, or the way it breaks the protocol.
    ///
    /// A complete request may have no argument (an empty inline line, or `*0\r\n`):
    /// Redis ignores those, and so should the caller.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        loop {
            match self.state {
                State::Start => {
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    self.args.clear();
                    self.big = None;
                    if first != b'*' {
                        self.state = State::Inline { scanned: 0 };
                        continue;
                    }
                    let Some((count, next)) =
                        number_line(buf, 1).map_err(|()| ProtocolError::InvalidMultibulkLength)?
                    else {
                        return Ok(None);
                    };
                    if count > MAX_ARGS as i64 {
                        return Err(ProtocolError::InvalidMultibulkLength);
                    }
                    // Zero or negative counts are empty requests, as in Redis.
                    let remaining = usize::try_from(count).unwrap_or(0);
                    self.pos = next;
                    self.state = State::Multibulk { remaining };
                }
                State::Multibulk { remaining: 0 } => return Ok(Some(self.finish())),
                State::Multibulk { remaining } => {
                    // A large argument read elsewhere: once complete, it takes its place
                    // among the arguments, and parsing goes on in the caller's buffer.
                    if let Some(big) = &mut self.big {
                        if big.index == self.args.len() {
                            if big.filled < big.data.len() {
                                return Ok(None);
                            }
                            big.data.truncate(big.data.len() - 2); // the `\r\n`, unseen
                            self.args.push(self.pos..self.pos);
                            self.state = State::Multibulk {
                                remaining: remaining - 1,
                            };
                            continue;
                        }
                    }
                    let Some(&kind) = buf.get(self.pos) else {
                        return Ok(None);
                    };
                    if kind != b'$' {
                        return Err(ProtocolError::ExpectedBulk(kind));
                    }
                    // While the data has not all arrived, these few header bytes are read
                    // again at every call; the data itself never is.
                    let Some((len, start)) = number_line(buf, self.pos + 1)
                        .map_err(|()| ProtocolError::InvalidBulkLength)?
                    else {
                        return Ok(None);
                    };
                    let len = usize::try_from(len)
                        .ok()
                        .filter(|&len| len <= MAX_BULK)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    let end = start + len;
                    // The two bytes after the data are skipped unseen, as Redis does: they
                    // should be `\r\n`, but nothing depends on it.
                    if buf.len() < end + 2 {
                        if len >= BIG_ARG && self.big.is_none() {
                            // Its own buffer: what arrived of it moves there, and the
                            // caller forgets it (see `big_start`).
                            let mut data = vec![0u8; len + 2];
                            let arrived = buf.len() - start;
                            data[..arrived].copy_from_slice(&buf[start..]);
                            self.big = Some(Box::new(Big {
                                index: self.args.len(),
                                data,
                                filled: arrived,
                            }));
                            self.pos = start;
                            return Ok(None);
                        }
                        self.wanted = end + 2;
                        return Ok(None);
                    }
                    self.args.push(start..end);
                    self.pos = end + 2;
                    self.state = State::Multibulk {
                        remaining: remaining - 1,
                    };
                }
                State::Inline { scanned } => {
                    let Some(newline) = buf[scanned..].iter().position(|&b| b == b'\n') else {
                        if buf.len() > MAX_INLINE {
                            return Err(ProtocolError::TooBigInline);
                        }
                        self.state = State::Inline { scanned: buf.len() };
                        return Ok(None);
                    };
                    let end = scanned + newline;
                    let line = &buf[..end];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    self.split_words(line);
                    self.pos = end + 1;
                    return Ok(Some(self.finish()));
                }
            }
        }
    }

    /// How many bytes the request being parsed needs at least, counted from its first
    /// byte: once a bulk string's length is known, up to its end; otherwise 0. The caller
    /// grows its buffer to this, no more (a 32 MiB argument needs 32 MiB, not the 64 MiB
    /// that doubling would give).
    pub fn wanted(&self) -> usize {
        self.wanted
    }

    /// While a large argument of the request is being read into a buffer of its own:
    /// where it started, relative to the request's first byte. The parser has copied the
    /// bytes of it that the caller's buffer held from there on, so the caller drops them
    /// (its buffer ends there) and reads into [`big_room`](Self::big_room) until it is
    /// `None`, then calls `parse` again.
    pub fn big_start(&self) -> Option<usize> {
        match &self.big {
            Some(big) if big.filled < big.data.len() => Some(self.pos),
            _ => None,
        }
    }

    /// The part of the large argument's buffer still to be read into, if one is being
    /// read: exactly the bytes still to come, so a read never takes a byte of the next
    /// argument or request.
    pub fn big_room(&mut self) -> Option<&mut [u8]> {
        match &mut self.big {
            Some(big) if big.filled < big.data.len() => Some(&mut big.data[big.filled..]),
            _ => None,
        }
    }

    /// Records that `n` bytes were read into [`big_room`](Self::big_room).
    pub fn big_filled(&mut self, n: usize) {
        if let Some(big) = &mut self.big {
            big.filled += n;
        }
    }

    /// The request last parsed, whose bytes start at `bytes[0]`; a large argument read
    /// into a buffer of its own is handed over to it.
    pub fn request<'a>(&'a mut self, bytes: &'a [u8]) -> Request<'a> {
        let big = self.big.take().map(|big| (big.index, big.data));
        Request {
            bytes,
            args: &self.args,
            big,
        }
    }

    /// Records the words of an inline request, separated by spaces or tabs.
    fn split_words(&mut self, line: &[u8]) {
        let mut i = 0;
        while i < line.len() {
            if line[i] == b' ' || line[i] == b'\t' {
                i += 1;
                continue;
            }
            let start = i;
            while i < line.len() && line[i] != b' ' && line[i] != b'\t' {
                i += 1;
            }
            self.args.push(start..i);
        }
    }

    /// Ends the current request: returns its length, and gets ready for the next one.
    /// (A large argument stays in `big` until [`request`](Self::request) takes it.)
    fn finish(&mut self) -> usize {
        self.state = State::Start;
        self.wanted = 0;
        std::mem::take(&mut self.pos)
    }
}

/// Parses the decimal number at `buf[at..]` and the two bytes after it (`\r\n`). Returns
/// the number and the position just past them; `Ok(None)` if `buf` ends first; `Err` if
/// the bytes cannot be such a line.
///
/// The rules are Redis's (`string2ll`): an optional `-`, then either `0` alone or digits
/// not starting with `0` (so each number has one spelling: `04`, `-0` and `+4` are
/// errors), within the range of an `i64` (`-9223372036854775808` included). As in Redis,
/// the byte after the `\r` is skipped unseen. Unlike Redis, which waits up to 64 KiB for
/// the `\r`, more than [`MAX_DIGITS`] characters without one is an error at once.
fn number_line(buf: &[u8], at: usize) -> Result<Option<(i64, usize)>, ()> {
    let rest = buf.get(at..).unwrap_or_default();
    let Some(cr) = rest.iter().take(MAX_DIGITS + 1).position(|&b| b == b'\r') else {
        return if rest.len() > MAX_DIGITS {
            Err(())
        } else {
            Ok(None)
        };
    };
    let value = parse_decimal(&rest[..cr]).ok_or(())?;
    if rest.len() < cr + 2 {
        return Ok(None);
    }
    Ok(Some((value, at + cr + 2)))
}

/// `digits` as an `i64`, by the rules of [`number_line`].
fn parse_decimal(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, digits),
    };
    match digits {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None, // empty, a leading zero, `-0`, a sign other than `-`
    }
    // Accumulated as a negative number, whose range reaches one further than the
    // positive one: that is how `-9223372036854775808` fits.
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

/// `+<text>\r\n`: a simple string, such as `OK`.
pub fn push_simple(out: &mut Vec<u8>, text: &str) {
    out.push(b'+');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `-<message>\r\n`: an error. Line breaks in `message` (which may quote what the client
/// sent) become spaces, or they would end the reply early and corrupt the stream.
pub fn push_error(out: &mut Vec<u8>, message: &str) {
    out.push(b'-');
    out.extend(
        message
            .bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// `:<n>\r\n`: an integer.
pub fn push_integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    push_decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

/// `$<length>\r\n<bytes>\r\n`: a bulk string.
pub fn push_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    push_decimal(out, bytes.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// `$-1\r\n`: the null bulk string, "no value".
pub fn push_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// `*<count>\r\n`: the header of an array; its `count` elements follow.
pub fn push_array_header(out: &mut Vec<u8>, count: usize) {
    out.push(b'*');
    push_decimal(out, count as i64);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, without going through `fmt` (this is on every reply's path).
pub fn push_decimal(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses every request in `input`, which must end with a complete one; returns each
    /// request's arguments.
    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut parser = Parser::new();
        let mut requests = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let len = parser.parse(&input[at..])?.expect("a complete request");
            let request = parser.request(&input[at..]);
            requests.push(request.args_from(0).map(<[u8]>::to_vec).collect());
            at += len;
        }
        Ok(requests)
    }

    /// The request `input` with every argument, checked after feeding it one byte at a
    /// time (as if each byte came in its own read): `None` until the last byte.
    fn parse_bytewise(input: &[u8]) -> Vec<Vec<u8>> {
        let mut parser = Parser::new();
        for end in 1..input.len() {
            assert_eq!(parser.parse(&input[..end]), Ok(None), "after {end} bytes");
        }
        assert_eq!(parser.parse(input), Ok(Some(input.len())));
        parser
            .request(input)
            .args_from(0)
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn words(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_request() {
        let parsed = parse_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
        assert_eq!(parsed, Ok(vec![words(&["SET", "k", "hello"])]));
    }

    #[test]
    fn bulk_strings_are_binary_safe() {
        let parsed = parse_all(b"*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0\xffb\r\n");
        assert_eq!(
            parsed,
            Ok(vec![vec![b"ECHO".to_vec(), b"a\r\n\0\xffb".to_vec()]])
        );
    }

    #[test]
    fn empty_bulk_string() {
        let parsed = parse_all(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
        assert_eq!(parsed, Ok(vec![words(&["ECHO", ""])]));
    }

    #[test]
    fn pipelined_requests() {
        let parsed = parse_all(b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        assert_eq!(
            parsed,
            Ok(vec![
                words(&["PING"]),
                words(&["PING"]),
                words(&["GET", "k"])
            ])
        );
    }

    #[test]
    fn request_split_at_every_byte() {
        let input = b"*3\r\n$3\r\nSET\r\n$10\r\n0123456789\r\n$2\r\nxy\r\n";
        assert_eq!(parse_bytewise(input), words(&["SET", "0123456789", "xy"]));
        assert_eq!(parse_bytewise(b"GET  key\r\n"), words(&["GET", "key"]));
    }

    #[test]
    fn resumes_where_it_stopped() {
        // The parser stops at the incomplete third argument and, given more, starts from
        // there: the ranges found before stay, and are not pushed twice.
        let input = b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
        let mut parser = Parser::new();
        assert_eq!(parser.parse(&input[..20]), Ok(None));
        assert_eq!(parser.args.len(), 2);
        assert_eq!(parser.parse(input), Ok(Some(input.len())));
        assert_eq!(parser.args, &[8..9, 15..16, 22..23]);
    }

    #[test]
    fn inline_requests() {
        assert_eq!(parse_all(b"PING\r\n"), Ok(vec![words(&["PING"])]));
        assert_eq!(parse_all(b"PING\n"), Ok(vec![words(&["PING"])]));
        assert_eq!(
            parse_all(b"  set\tk   v \r\n"),
            Ok(vec![words(&["set", "k", "v"])])
        );
    }

    #[test]
    fn empty_requests_have_no_arguments() {
        assert_eq!(
            parse_all(b"\r\n\n*0\r\n*-1\r\n"),
            Ok(vec![vec![], vec![], vec![], vec![]])
        );
    }

    #[test]
    fn a_bulk_in_the_buffer_is_not_rescanned() {
        // An argument just under `BIG_ARG`, arriving 1 KiB at a time in the caller's
        // buffer: each call looks at the header and the length, not the data.
        let len = BIG_ARG - 1;
        let mut input = format!("*2\r\n$4\r\nECHO\r\n${len}\r\n").into_bytes();
        let data_start = input.len();
        input.resize(data_start + len, b'x');
        input.extend_from_slice(b"\r\n");
        let mut parser = Parser::new();
        for end in (1024..input.len()).step_by(1024) {
            assert_eq!(parser.parse(&input[..end]), Ok(None));
            assert_eq!(parser.big_start(), None);
        }
        assert_eq!(parser.parse(&input), Ok(Some(input.len())));
        assert_eq!(parser.args[1], data_start..data_start + len);
    }

    #[test]
    fn a_big_bulk_gets_a_buffer_of_its_own() {
        // `SET k <BIG_ARG bytes> EX 10`, the value cut short by the end of a read.
        let len = BIG_ARG;
        let head = format!("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n${len}\r\n").into_bytes();
        let mut buf = head.clone();
        buf.extend_from_slice(b"abc"); // the first bytes of the value
        let mut parser = Parser::new();
        assert_eq!(parser.parse(&buf), Ok(None));
        // The parser took the 3 bytes: the caller's buffer ends where the value began.
        assert_eq!(parser.big_start(), Some(head.len()));
        buf.truncate(head.len());
        // The caller reads the rest into the value's own buffer, never past its `\r\n`.
        let mut rest = vec![b'x'; len - 3];
        rest.extend_from_slice(b"\r\n");
        for piece in rest.chunks(10_000) {
            let room = parser.big_room().expect("room for the rest");
            assert!(room.len() >= piece.len());
            room[..piece.len()].copy_from_slice(piece);
            parser.big_filled(piece.len());
        }
        assert!(parser.big_room().is_none());
        assert_eq!(parser.big_start(), None);
        // The arguments after it arrive in the caller's buffer again.
        assert_eq!(parser.parse(&buf), Ok(None));
        buf.extend_from_slice(b"$2\r\nEX\r\n$2\r\n10\r\n");
        assert_eq!(parser.parse(&buf), Ok(Some(buf.len())));
        let mut request = parser.request(&buf);
        assert_eq!(request.len(), 5);
        assert_eq!(request.arg(2).len(), len);
        assert_eq!(&request.arg(2)[..4], b"abcx");
        assert_eq!(
            (request.arg(1), request.arg(3), request.arg(4)),
            (&b"k"[..], &b"EX"[..], &b"10"[..])
        );
        // A command that stores it takes the buffer: allocated once, at its size.
        assert_eq!(request.take_big(1), None);
        let value = request.take_big(2).expect("the value's own buffer");
        assert_eq!((value.len(), value.capacity()), (len, len + 2));
        assert_eq!(request.arg(2), b"");
        // The next request starts afresh.
        assert_eq!(parser.parse(b"PING\r\n"), Ok(Some(6)));
        assert!(parser.request(b"PING\r\n").take_big(0).is_none());
    }

    #[test]
    fn malformed_requests() {
        use ProtocolError::*;
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*x\r\n", InvalidMultibulkLength),
            (b"*\r\n", InvalidMultibulkLength),
            (b"*1x\r\n", InvalidMultibulkLength),
            (b"*1\n$4\r\nPING\r\n", InvalidMultibulkLength),
            (b"*99999999999999999999999\r\n", InvalidMultibulkLength),
            (b"*2147483648\r\n", InvalidMultibulkLength),
            (b"*-9223372036854775809\r\n", InvalidMultibulkLength),
            (b"*04\r\n", InvalidMultibulkLength),
            (b"*-0\r\n", InvalidMultibulkLength),
            (b"*+1\r\n", InvalidMultibulkLength),
            (b"*1\r\n:4\r\n", ExpectedBulk(b':')),
            (b"*1\r\n+PING\r\n", ExpectedBulk(b'+')),
            (b"*1\r\n$-1\r\n", InvalidBulkLength),
            (b"*1\r\n$-5\r\n", InvalidBulkLength),
            (b"*1\r\n$abc\r\n", InvalidBulkLength),
            (b"*1\r\n$536870913\r\n", InvalidBulkLength),
            (b"*1\r\n$04\r\nPING\r\n", InvalidBulkLength),
            (b"*1\r\n$00\r\n\r\n", InvalidBulkLength),
            (b"*1\r\n$+4\r\nPING\r\n", InvalidBulkLength),
        ];
        for &(input, error) in cases {
            assert_eq!(
                Parser::new().parse(input),
                Err(error),
                "{}",
                input.escape_ascii()
            );
        }
    }

    #[test]
    fn edge_cases_redis_accepts() {
        // Checked against redis-server 7.0: counts up to `i32::MAX` wait for their
        // arguments, the smallest `i64` count is an empty request, and the two bytes
        // after a number's `\r` or a bulk's data are skipped unseen.
        for input in [
            &b"*2147483647\r\n"[..],
            b"*1048577\r\n",
            b"*1\r\n$536870912\r\n",
        ] {
            assert_eq!(
                Parser::new().parse(input),
                Ok(None),
                "{}",
                input.escape_ascii()
            );
        }
        assert_eq!(
            parse_all(b"*-9223372036854775808\r\nPING\r\n"),
            Ok(vec![vec![], words(&["PING"])])
        );
        assert_eq!(
            parse_all(b"*1\r\n$4\r\nPINGxx*1\rx$4\r\nPING\n\r"),
            Ok(vec![words(&["PING"]), words(&["PING"])])
        );
    }

    #[test]
    fn a_growing_bulk_says_how_much_it_needs() {
        let mut parser = Parser::new();
        let input = b"*2\r\n$3\r\nGET\r\n$10\r\n0123";
        assert_eq!(parser.parse(input), Ok(None));
        assert_eq!(parser.wanted(), 18 + 10 + 2); // header, data, `\r\n`
        let input = b"*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n";
        assert_eq!(parser.parse(input), Ok(Some(input.len())));
        assert_eq!(parser.wanted(), 0);
    }

    #[test]
    fn a_number_line_cannot_grow_forever() {
        // Digits without an end: an error once longer than any valid number could be.
        // (Zeros, so that the value itself never overflows.)
        let mut input = b"*".to_vec();
        input.resize(22, b'0');
        assert_eq!(Parser::new().parse(&input[..21]), Ok(None));
        assert_eq!(
            Parser::new().parse(&input),
            Err(ProtocolError::InvalidMultibulkLength)
        );
    }

    #[test]
    fn inline_request_without_newline_is_bounded() {
        let mut parser = Parser::new();
        let input = vec![b'a'; MAX_INLINE];
        assert_eq!(parser.parse(&input), Ok(None));
        let input = vec![b'a'; MAX_INLINE + 1];
        assert_eq!(parser.parse(&input), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            ProtocolError::ExpectedBulk(b'x').to_string(),
            "expected '$', got 'x'"
        );
        assert_eq!(
            ProtocolError::ExpectedBulk(b'\n').to_string(),
            "expected '$', got '\\n'"
        );
    }

    #[test]
    fn replies() {
        let mut out = Vec::new();
        push_simple(&mut out, "OK");
        push_error(&mut out, "ERR bad\r\nthing");
        push_integer(&mut out, -42);
        push_integer(&mut out, i64::MIN);
        push_bulk(&mut out, b"hi");
        push_null(&mut out);
        push_array_header(&mut out, 0);
        assert_eq!(
            out,
            b"+OK\r\n-ERR bad  thing\r\n:-42\r\n:-9223372036854775808\r\n$2\r\nhi\r\n$-1\r\n*0\r\n"
        );
    }
}
