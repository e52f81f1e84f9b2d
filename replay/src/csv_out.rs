//! The one CSV writer of the project: every cell that a spreadsheet would read as
//! a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is
//! neutralised by a leading `'` (OWASP's rule against CSV injection), so a display
//! name such as `=HYPERLINK(…)` is shown, never run, when an export is opened.

use std::borrow::Cow;
use std::io::Write;

/// A CSV writer whose cells are neutralised.
pub struct CsvOut<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvOut<W> {
    pub fn new(writer: W) -> CsvOut<W> {
        CsvOut {
            inner: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(writer),
        }
    }

    /// Writes one row (the header too).
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner.write_record(
            cells
                .into_iter()
                .map(|c| neutralise(c.as_ref()).into_owned()),
        )
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The cell as written: with a leading `'` when it would start a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_the_rest_kept() {
        let mut out = CsvOut::new(Vec::new());
        out.row([
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "Zoë",
            "a,b",
        ])
        .unwrap();
        out.flush().unwrap();
        let written = String::from_utf8(out.inner.into_inner().unwrap()).unwrap();
        assert_eq!(
            written,
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+cmd|' /C calc'!A0,'-2+3,'@SUM(A1),'\tx,Zoë,\"a,b\"\n"
        );
    }
}
