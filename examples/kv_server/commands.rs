//! The commands: what each does to the key space, and the reply it appends.
//!
//! Replies and error messages follow Redis 7 word for word where a client could tell the
//! difference. Besides the commands of the classic teaching server (`PING`, `ECHO`,
//! `SET`, `GET`, `DEL`, `EXISTS`, `INCR`), there are the few that real clients send on
//! their own: `redis-benchmark` starts with `CONFIG GET save` and `CONFIG GET appendonly`,
//! and an interactive `redis-cli` with `COMMAND DOCS`.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::db::Db;
use crate::log::RateLimit;
use crate::resp::{
    Request, push_array_header, push_bulk, push_error, push_integer, push_null, push_simple,
};

/// What the connection does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// Go on with the next request.
    Continue,
    /// Send the replies so far, then close (`QUIT`).
    Close,
}

/// The error Redis gives for a number it cannot parse.
const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

/// Runs the command in `request` (which has at least one argument) against `db`, and
/// appends its reply to `out`.
pub fn execute(db: &mut Db, mut request: Request<'_>, out: &mut Vec<u8>) -> After {
    // Command names are case-insensitive. Upper-case the name into a small buffer, so
    // that a plain `match` on byte strings can dispatch; no known name is longer.
    let name = request.arg(0);
    let mut upper = [0u8; 8];
    let known = name.len() <= upper.len();
    if known {
        upper[..name.len()].copy_from_slice(name);
        upper.make_ascii_uppercase();
    }
    let name = if known { &upper[..name.len()] } else { b"" };
    match name {
        b"GET" => get(db, &request, out),
        b"SET" => set(db, &mut request, out),
        b"PING" => ping(&request, out),
        b"DEL" => del(db, &request, out),
        b"EXISTS" => exists(db, &request, out),
        b"INCR" => incr_by(db, &request, out, Some(1)),
        b"DECR" => incr_by(db, &request, out, Some(-1)),
        b"INCRBY" => incr_by(db, &request, out, None),
        b"ECHO" => echo(&request, out),
        b"TTL" => ttl(db, &request, out, 1000),
        b"PTTL" => ttl(db, &request, out, 1),
        b"DBSIZE" => dbsize(db, &request, out),
        b"CONFIG" => config(&request, out),
        b"COMMAND" => command(&request, out),
        b"QUIT" => {
            push_simple(out, "OK");
            return After::Close;
        }
        _ => unknown(&request, out),
    }
    After::Continue
}

/// Checks that `request` has between `min` and `max` arguments, counting the command's
/// name; if not, appends Redis's error and returns false.
fn arity(request: &Request<'_>, min: usize, max: usize, name: &str, out: &mut Vec<u8>) -> bool {
    let ok = (min..=max).contains(&request.len());
    if !ok {
        push_error(
            out,
            &format!("ERR wrong number of arguments for '{name}' command"),
        );
    }
    ok
}

/// `PING [message]`: `+PONG`, or the message.
fn ping(request: &Request<'_>, out: &mut Vec<u8>) {
    if arity(request, 1, 2, "ping", out) {
        match request.get(1) {
            Some(message) => push_bulk(out, message),
            None => push_simple(out, "PONG"),
        }
    }
}

/// `ECHO message`
fn echo(request: &Request<'_>, out: &mut Vec<u8>) {
    if arity(request, 2, 2, "echo", out) {
        push_bulk(out, request.arg(1));
    }
}

/// `GET key`: the value, or null.
fn get(db: &mut Db, request: &Request<'_>, out: &mut Vec<u8>) {
    if arity(request, 2, 2, "get", out) {
        match db.get(request.arg(1)) {
            Some(entry) => push_bulk(out, entry.value.as_bytes()),
            None => push_null(out),
        }
    }
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]`
///
/// `NX`: only if the key does not exist; `XX`: only if it does. `GET`: reply with the old
/// value. Without `KEEPTTL`, a `SET` removes any time to live the key had.
fn set(db: &mut Db, request: &mut Request<'_>, out: &mut Vec<u8>) {
    if !arity(request, 3, usize::MAX, "set", out) {
        return;
    }
    // A large value read into a buffer of its own is stored as it is: no copy.
    let big = request.take_big(2);
    let request = &*request;
    let key = request.arg(1);

    // The options, in any order, each at most once; conflicting ones (`NX` and `XX`, two
    // expiries) are a syntax error, as in Redis.
    let (mut nx, mut xx, mut reply_old, mut keep_ttl) = (false, false, false, false);
    let mut expire = None; // the amount and its unit, checked once the syntax is known good
    let mut i = 3;
    while i < request.len() {
        let option = request.arg(i);
        if option.eq_ignore_ascii_case(b"NX") && !xx {
            nx = true;
        } else if option.eq_ignore_ascii_case(b"XX") && !nx {
            xx = true;
        } else if option.eq_ignore_ascii_case(b"GET") {
            reply_old = true;
        } else if option.eq_ignore_ascii_case(b"KEEPTTL") && expire.is_none() {
            keep_ttl = true;
        } else if let Some(unit) = expire_unit(option) {
            match request.get(i + 1) {
                Some(amount) if expire.is_none() && !keep_ttl => expire = Some((amount, unit)),
                _ => return push_error(out, "ERR syntax error"),
            }
            i += 1;
        } else {
            return push_error(out, "ERR syntax error");
        }
        i += 1;
    }
    let expire = expire.map(|(amount, unit)| expire_deadline(amount, unit));
    let mut deadline = match expire.transpose() {
        Ok(deadline) => deadline,
        Err(message) => return push_error(out, message),
    };

    // A plain SET (the common case) needs nothing from the old entry: it goes straight
    // to `db.set`, one hash lookup in all.
    if !(nx || xx || reply_old || keep_ttl) {
        store(db, key, request, big, deadline);
        return push_simple(out, "OK");
    }

    // The condition, and the old value if asked for.
    let existing = db.get(key);
    if reply_old {
        match &existing {
            Some(entry) => push_bulk(out, entry.value.as_bytes()),
            None => push_null(out),
        }
    }
    let exists = existing.is_some();
    if keep_ttl {
        deadline = existing.and_then(|entry| entry.deadline());
    }
    if (nx && exists) || (xx && !exists) {
        if !reply_old {
            push_null(out);
        }
        return;
    }
    store(db, key, request, big, deadline);
    if !reply_old {
        push_simple(out, "OK");
    }
}

/// Stores the value of a `SET` (its argument 2) at `key`: the buffer of its own that a
/// large one was read into, if any (`big`), or else a copy.
fn store(
    db: &mut Db,
    key: &[u8],
    request: &Request<'_>,
    big: Option<Vec<u8>>,
    deadline: Option<Instant>,
) {
    match big {
        Some(value) => db.set_owned(key, value, deadline),
        None => db.set(key, request.arg(2), deadline),
    }
}

/// Milliseconds per unit of a `SET` expiry option: `EX` (seconds) or `PX`.
fn expire_unit(option: &[u8]) -> Option<u64> {
    if option.eq_ignore_ascii_case(b"EX") {
        Some(1000)
    } else if option.eq_ignore_ascii_case(b"PX") {
        Some(1)
    } else {
        None
    }
}

/// The deadline `amount` units (of `unit_ms` milliseconds) from now, or Redis's error.
///
/// Redis turns the time to live into an absolute Unix time in milliseconds, an `i64`, and
/// refuses one that overflows it: so `PX 9223372036854775807` is an error, as is any
/// `EX` over `i64::MAX / 1000` minus the present.
fn expire_deadline(amount: &[u8], unit_ms: u64) -> Result<Instant, &'static str> {
    const INVALID: &str = "ERR invalid expire time in 'set' command";
    let amount = parse_i64(amount).ok_or(NOT_AN_INTEGER)?;
    let amount = u64::try_from(amount)
        .ok()
        .filter(|&n| n > 0)
        .ok_or(INVALID)?;
    let millis = amount.checked_mul(unit_ms).ok_or(INVALID)?;
    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    if millis
        .checked_add(unix_now)
        .is_none_or(|at| at > i64::MAX as u64)
    {
        return Err(INVALID);
    }
    Instant::now()
        .checked_add(Duration::from_millis(millis))
        .ok_or(INVALID)
}

/// `DEL key [key ...]`: how many of the keys existed.
fn del(db: &mut Db, request: &Request<'_>, out: &mut Vec<u8>) {
    if arity(request, 2, usize::MAX, "del", out) {
        let removed = request.args_from(1).filter(|key| db.remove(key)).count();
        push_integer(out, removed as i64);
    }
}

/// `EXISTS key [key ...]`: how many of the keys exist (a key named twice counts twice).
fn exists(db: &mut Db, request: &Request<'_>, out: &mut Vec<u8>) {
    if arity(request, 2, usize::MAX, "exists", out) {
        let found = request.args_from(1).filter(|key| db.contains(key)).count();
        push_integer(out, found as i64);
    }
}

/// `INCR key`, `DECR key` (with `delta` given), and `INCRBY key delta`: adds to the
/// integer stored at `key` (0 if missing) and replies with the result. The time to live,
/// if any, is kept.
fn incr_by(db: &mut Db, request: &Request<'_>, out: &mut Vec<u8>, delta: Option<i64>) {
    let delta = match delta {
        Some(delta) => {
            let name = if delta > 0 { "incr" } else { "decr" };
            if !arity(request, 2, 2, name, out) {
                return;
            }
            delta
        }
        None => {
            if !arity(request, 3, 3, "incrby", out) {
                return;
            }
            match parse_i64(request.arg(2)) {
                Some(delta) => delta,
                None => return push_error(out, NOT_AN_INTEGER),
            }
        }
    };
    let key = request.arg(1);
    let current = match db.get(key) {
        Some(entry) => match parse_i64(entry.value.as_bytes()) {
            Some(n) => n,
            None => return push_error(out, NOT_AN_INTEGER),
        },
        None => 0,
    };
    let Some(new) = current.checked_add(delta) else {
        return push_error(out, "ERR increment or decrement would overflow");
    };
    // At most 20 digits, so the value stays inline: no allocation.
    let mut digits = [0u8; 20];
    let len = {
        let mut rest = &mut digits[..];
        write!(rest, "{new}").expect("20 bytes hold any i64");
        20 - rest.len()
    };
    match db.get(key) {
        // Rewrite the digits in place: the deadline stays.
        Some(entry) => entry.value.set(&digits[..len]),
        None => db.set(key, &digits[..len], None),
    }
    push_integer(out, new);
}

/// `TTL key` (`unit_ms` 1000) and `PTTL key` (1): the time to live, -1 if the key has
/// none, -2 if it does not exist.
fn ttl(db: &mut Db, request: &Request<'_>, out: &mut Vec<u8>, unit_ms: u128) {
    let name = if unit_ms == 1 { "pttl" } else { "ttl" };
    if !arity(request, 2, 2, name, out) {
        return;
    }
    let answer = match db.get(request.arg(1)) {
        None => -2,
        Some(entry) => match entry.deadline() {
            None => -1,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now()).as_millis();
                // Rounded to the nearest unit, as Redis does.
                i64::try_from((left + unit_ms / 2) / unit_ms).unwrap_or(i64::MAX)
            }
        },
    };
    push_integer(out, answer);
}

/// `DBSIZE`: the number of keys, counting expired ones the sweep has not removed yet.
fn dbsize(db: &mut Db, request: &Request<'_>, out: &mut Vec<u8>) {
    if arity(request, 1, 1, "dbsize", out) {
        push_integer(out, db.len() as i64);
    }
}

/// `CONFIG GET parameter [parameter ...]`: the few settings clients ask about, as
/// name-value pairs. `redis-benchmark` asks for `save` and `appendonly` before it starts:
/// nothing is ever saved here.
fn config(request: &Request<'_>, out: &mut Vec<u8>) {
    const SETTINGS: [(&str, &str); 2] = [("save", ""), ("appendonly", "no")];
    let Some(sub) = request.get(1) else {
        return push_error(out, "ERR wrong number of arguments for 'config' command");
    };
    if !sub.eq_ignore_ascii_case(b"GET") {
        return unknown_subcommand(sub, "CONFIG", out);
    }
    if !arity(request, 3, usize::MAX, "config|get", out) {
        return;
    }
    let asked = |name: &str| {
        request
            .args_from(2)
            .any(|param| param.eq_ignore_ascii_case(name.as_bytes()))
    };
    let found = SETTINGS.iter().filter(|(name, _)| asked(name)).count();
    push_array_header(out, 2 * found);
    for (name, value) in SETTINGS.iter().filter(|(name, _)| asked(name)) {
        push_bulk(out, name.as_bytes());
        push_bulk(out, value.as_bytes());
    }
}

/// `COMMAND [DOCS ...]`: an empty list. `redis-cli` asks for the documentation of every
/// command when it starts interactively; an empty answer leaves it with no hints.
fn command(request: &Request<'_>, out: &mut Vec<u8>) {
    match request.get(1) {
        None => push_array_header(out, 0),
        Some(sub) if sub.eq_ignore_ascii_case(b"DOCS") => push_array_header(out, 0),
        Some(sub) => unknown_subcommand(sub, "COMMAND", out),
    }
}

/// Redis's error for a subcommand it does not know.
fn unknown_subcommand(sub: &[u8], command: &str, out: &mut Vec<u8>) {
    push_error(
        out,
        &format!(
            "ERR unknown subcommand '{}'. Try {command} HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(128)])
        ),
    );
}

thread_local! {
    /// Unknown commands are logged at most once a second: a client can send them as fast
    /// as it likes, and the log must not grow (or stall the server) with them.
    static UNKNOWN_LOG: RateLimit = const { RateLimit::new() };
}

/// Redis's error for an unknown command, quoting the start of its arguments (at most
/// about 128 bytes of them). The command is logged too (rate-limited): it tells what a
/// client expected.
fn unknown(request: &Request<'_>, out: &mut Vec<u8>) {
    let name = request.arg(0);
    let mut args = String::new();
    for arg in request.args_from(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let arg = String::from_utf8_lossy(&arg[..arg.len().min(room)]);
        args.push_str(&format!("'{arg}' "));
    }
    let name = String::from_utf8_lossy(&name[..name.len().min(128)]);
    UNKNOWN_LOG.with(|limit| limit.log(|| format!("unknown command: '{name}' {args}")));
    push_error(
        out,
        &format!("ERR unknown command '{name}', with args beginning with: {args}"),
    );
}

/// Parses a decimal `i64` strictly, as Redis does: an optional `-`, no `+`, no spaces, no
/// leading zeros (so each number has one spelling), no overflow.
pub fn parse_i64(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let canonical = match digits {
        [b'0'] => !negative, // "0", but not "-0"
        [b'1'..=b'9', ..] => digits.len() <= 19,
        _ => false,
    };
    if !canonical {
        return None;
    }
    // Accumulate negatively: i64::MIN has no positive counterpart.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::Parser;

    /// Runs each request of `input` (RESP or inline) on `db`; returns the replies.
    fn run(db: &mut Db, input: &str) -> String {
        let input = input.as_bytes();
        let mut parser = Parser::new();
        let mut out = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let len = parser.parse(&input[at..]).unwrap().unwrap();
            let request = parser.request(&input[at..]);
            if request.len() > 0 {
                execute(db, request, &mut out);
            }
            at += len;
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ping_and_echo() {
        let mut db = Db::default();
        assert_eq!(run(&mut db, "PING\r\n"), "+PONG\r\n");
        assert_eq!(run(&mut db, "ping hi\r\n"), "$2\r\nhi\r\n");
        assert_eq!(run(&mut db, "ECHO x\r\n"), "$1\r\nx\r\n");
        assert_eq!(
            run(&mut db, "ECHO\r\n"),
            "-ERR wrong number of arguments for 'echo' command\r\n"
        );
    }

    #[test]
    fn set_get_del_exists() {
        let mut db = Db::default();
        assert_eq!(run(&mut db, "SET a 1\r\nSET b 2\r\n"), "+OK\r\n+OK\r\n");
        assert_eq!(run(&mut db, "GET a\r\nGET nope\r\n"), "$1\r\n1\r\n$-1\r\n");
        assert_eq!(run(&mut db, "EXISTS a b a nope\r\n"), ":3\r\n");
        assert_eq!(run(&mut db, "DEL a nope b a\r\n"), ":2\r\n");
        assert_eq!(run(&mut db, "EXISTS a b\r\n"), ":0\r\n");
    }

    #[test]
    fn set_options() {
        let mut db = Db::default();
        assert_eq!(run(&mut db, "SET k v XX\r\n"), "$-1\r\n");
        assert_eq!(run(&mut db, "SET k v NX\r\n"), "+OK\r\n");
        assert_eq!(run(&mut db, "SET k w NX\r\n"), "$-1\r\n");
        assert_eq!(run(&mut db, "SET k w XX GET\r\n"), "$1\r\nv\r\n");
        assert_eq!(run(&mut db, "SET k x NX GET\r\n"), "$1\r\nw\r\n");
        assert_eq!(
            run(&mut db, "SET k v EX 100\r\nTTL k\r\n"),
            "+OK\r\n:100\r\n"
        );
        assert_eq!(
            run(&mut db, "SET k v2 KEEPTTL\r\nTTL k\r\n"),
            "+OK\r\n:100\r\n"
        );
        assert_eq!(
            run(&mut db, "SET k v PX 1500\r\nPTTL k\r\n").len(),
            "+OK\r\n:1500\r\n".len()
        );
        assert_eq!(
            run(&mut db, "SET k v\r\nTTL k\r\nTTL nope\r\n"),
            "+OK\r\n:-1\r\n:-2\r\n"
        );
        let syntax = "-ERR syntax error\r\n";
        for bad in ["NX XX", "EX 1 PX 1", "EX", "EX 1 KEEPTTL", "FOO"] {
            assert_eq!(run(&mut db, &format!("SET k v {bad}\r\n")), syntax, "{bad}");
        }
        assert_eq!(
            run(&mut db, "SET k v EX 0\r\nSET k v PX -5\r\n"),
            "-ERR invalid expire time in 'set' command\r\n".repeat(2)
        );
        // Checked against redis-server 7.0: the deadline, as Unix milliseconds, must fit
        // an i64.
        for amount in [
            "EX 9223372036854775807",
            "EX 9223372036854775",
            "EX 9223372036854774",
            "PX 9223372036854775807",
        ] {
            assert_eq!(
                run(&mut db, &format!("SET k v {amount}\r\n")),
                "-ERR invalid expire time in 'set' command\r\n",
                "{amount}"
            );
        }
        assert_eq!(
            run(&mut db, "SET k v PX 9000000000000000000\r\n"),
            "+OK\r\n"
        );
        assert_eq!(
            run(&mut db, "SET k v EX ten\r\n"),
            "-ERR value is not an integer or out of range\r\n"
        );
    }

    #[test]
    fn expired_keys_are_gone() {
        let mut db = Db::default();
        run(&mut db, "SET k v PX 1\r\n");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            run(&mut db, "GET k\r\nEXISTS k\r\nDEL k\r\n"),
            "$-1\r\n:0\r\n:0\r\n"
        );
    }

    #[test]
    fn incr() {
        let mut db = Db::default();
        assert_eq!(
            run(&mut db, "INCR n\r\nINCR n\r\nDECR n\r\n"),
            ":1\r\n:2\r\n:1\r\n"
        );
        assert_eq!(
            run(&mut db, "INCRBY n -11\r\nGET n\r\n"),
            ":-10\r\n$3\r\n-10\r\n"
        );
        let not_integer = "-ERR value is not an integer or out of range\r\n";
        for value in [
            "abc",
            "1.5",
            " 1",
            "+1",
            "01",
            "-0",
            "",
            "99999999999999999999",
        ] {
            run(
                &mut db,
                &format!(
                    "*3\r\n$3\r\nSET\r\n$1\r\ns\r\n${}\r\n{value}\r\n",
                    value.len()
                ),
            );
            assert_eq!(run(&mut db, "INCR s\r\n"), not_integer, "{value:?}");
        }
        run(&mut db, "SET big 9223372036854775807\r\n");
        assert_eq!(
            run(&mut db, "INCR big\r\n"),
            "-ERR increment or decrement would overflow\r\n"
        );
        // The time to live survives an INCR.
        assert_eq!(
            run(&mut db, "SET t 5 EX 100\r\nINCR t\r\nTTL t\r\n"),
            "+OK\r\n:6\r\n:100\r\n"
        );
    }

    #[test]
    fn parse_i64_is_strict() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        for bad in [&b"9223372036854775808"[..], b"-", b"", b"1a", b"00", b"-01"] {
            assert_eq!(parse_i64(bad), None, "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn what_real_clients_send_first() {
        let mut db = Db::default();
        assert_eq!(
            run(&mut db, "CONFIG GET save\r\nCONFIG GET appendonly\r\n"),
            "*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        );
        assert_eq!(run(&mut db, "CONFIG GET maxmemory\r\n"), "*0\r\n");
        assert_eq!(run(&mut db, "COMMAND DOCS\r\n"), "*0\r\n");
    }

    #[test]
    fn unknown_commands() {
        let mut db = Db::default();
        assert_eq!(
            run(&mut db, "FOO a b\r\n"),
            "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
        );
        assert_eq!(
            run(&mut db, "VERYLONGCOMMAND\r\n"),
            "-ERR unknown command 'VERYLONGCOMMAND', with args beginning with: \r\n"
        );
        // A newline inside a quoted argument must not end the error line early.
        assert_eq!(
            run(&mut db, "*2\r\n$3\r\nFOO\r\n$4\r\na\r\nb\r\n"),
            "-ERR unknown command 'FOO', with args beginning with: 'a  b' \r\n"
        );
        assert_eq!(run(&mut db, "QUIT\r\n"), "+OK\r\n");
    }
}
