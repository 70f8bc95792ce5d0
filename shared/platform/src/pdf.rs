//! Legal files as PDF: what an upload must be to be compiled, and the compilation itself, a set
//! of PDFs and text files merged page by page, in order, into one PDF.
//!
//! Text is set in Courier, one of the fourteen fonts every PDF reader has, so nothing is embedded;
//! it covers Windows-1252 (Latin-1 and its typographic marks). A text file beyond that is refused
//! at upload and should be uploaded as a PDF instead: embedding a font that covers more (DejaVu
//! Sans Mono, 343 KB; a CJK font, 16 MB and more) would add its size to every compiled EULA and to
//! the package of each function that compiles.

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream};
use std::collections::{BTreeMap, HashSet};

/// US Letter, one inch margins, 10 pt Courier on 12 pt lines: 78 characters by 54 lines.
const PAGE: (i64, i64) = (612, 792);
const MARGIN: i64 = 72;
const FONT_SIZE: i64 = 10;
const LEADING: i64 = 12;
const LINE_CHARS: usize = ((PAGE.0 - 2 * MARGIN) * 10 / (FONT_SIZE * 6)) as usize;
const PAGE_LINES: usize = ((PAGE.1 - 2 * MARGIN) / LEADING) as usize;
const TAB: usize = 4;

/// One document of a set, by its content type.
pub enum Part<'a> {
    Pdf(&'a [u8]),
    Text(&'a [u8]),
}

impl<'a> Part<'a> {
    pub fn of(content_type: &str, bytes: &'a [u8]) -> Part<'a> {
        if content_type == "application/pdf" {
            Part::Pdf(bytes)
        } else {
            Part::Text(bytes)
        }
    }
}

/// Why an upload cannot be compiled, for the uploader.
pub fn check(part: &Part<'_>) -> Result<(), String> {
    match part {
        Part::Pdf(bytes) => pdf(bytes).map(|_| ()),
        Part::Text(bytes) => text(bytes).map(|_| ()),
    }
}

fn pdf(bytes: &[u8]) -> Result<Document, String> {
    if !bytes.starts_with(b"%PDF-") {
        return Err("the uploaded file is not a PDF: it does not start with %PDF-".into());
    }
    let doc = Document::load_mem(bytes).map_err(|e| format!("the uploaded PDF cannot be read: {e}"))?;
    if doc.was_encrypted() || doc.is_encrypted() {
        return Err("the uploaded PDF is encrypted: it could not be merged into the EULA".into());
    }
    if doc.get_pages().is_empty() {
        return Err("the uploaded PDF has no pages".into());
    }
    Ok(doc)
}

/// The text's lines, each in Windows-1252, or where it cannot be.
fn text(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("the uploaded text is not UTF-8 (at byte {})", e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut encoded = Vec::with_capacity(line.len());
        for c in line.chars() {
            match c {
                '\t' => encoded.extend(std::iter::repeat_n(b' ', TAB - encoded.len() % TAB)),
                '\u{c}' => {
                    lines.push(std::mem::take(&mut encoded));
                    lines.push(vec![0x0c]);
                }
                c => encoded.push(win_ansi(c).ok_or_else(|| {
                    format!(
                        "line {} has U+{:04X}, beyond the Latin-1 (Windows-1252) the EULA's text is set in: upload this document as a PDF",
                        n + 1,
                        c as u32
                    )
                })?),
            }
        }
        lines.push(encoded);
    }
    Ok(lines)
}

/// A character's byte in Windows-1252 (PDF's WinAnsiEncoding), when it has one.
fn win_ansi(c: char) -> Option<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8a),
        ('‹', 0x8b),
        ('Œ', 0x8c),
        ('Ž', 0x8e),
        ('\u{2018}', 0x91),
        ('\u{2019}', 0x92),
        ('\u{201c}', 0x93),
        ('\u{201d}', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9a),
        ('›', 0x9b),
        ('œ', 0x9c),
        ('ž', 0x9e),
        ('Ÿ', 0x9f),
    ];
    match c as u32 {
        0x20..=0x7e | 0xa0..=0xff => Some(c as u8),
        _ => HIGH.iter().find(|(h, _)| *h == c).map(|(_, b)| *b),
    }
}

/// Lines no wider than a page, broken at the last space that fits, else at the width.
fn wrap(line: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = line;
    while rest.len() > LINE_CHARS {
        let cut = rest[..=LINE_CHARS].iter().rposition(|b| *b == b' ').filter(|&i| i > 0).unwrap_or(LINE_CHARS);
        out.push(&rest[..cut]);
        rest = &rest[cut..];
        rest = rest.strip_prefix(b" ").unwrap_or(rest);
    }
    out.push(rest);
    out
}

/// The text's pages: lines wrapped, a page broken every `PAGE_LINES` lines or at a form feed.
fn pages(lines: &[Vec<u8>]) -> Vec<Vec<&[u8]>> {
    let mut pages = vec![Vec::new()];
    for line in lines {
        if line.as_slice() == [0x0c] {
            pages.push(Vec::new());
            continue;
        }
        for piece in wrap(line) {
            if pages.last().is_some_and(|p| p.len() == PAGE_LINES) {
                pages.push(Vec::new());
            }
            if let Some(page) = pages.last_mut() {
                page.push(piece);
            }
        }
    }
    pages
}

/// A text file as a PDF of its own, in a plain monospaced layout.
fn text_document(bytes: &[u8]) -> Result<Document, String> {
    let lines = text(bytes)?;
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier", "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for page in pages(&lines) {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), FONT_SIZE.into()]),
            Operation::new("TL", vec![LEADING.into()]),
            Operation::new("Td", vec![MARGIN.into(), (PAGE.1 - MARGIN - FONT_SIZE).into()]),
        ];
        for line in page {
            operations.push(Operation::new("Tj", vec![Object::string_literal(line.to_vec())]));
            operations.push(Operation::new("T*", vec![]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations }.encode().map_err(|e| e.to_string())?;
        let contents = doc.add_object(Stream::new(dictionary! {}, content));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => contents, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), PAGE.0.into(), PAGE.1.into()],
        });
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    Ok(doc)
}

/// A page's attributes it inherits from its page tree, made its own before it changes trees.
fn materialize(doc: &Document, page_id: ObjectId) -> Result<Dictionary, String> {
    let mut page = doc.get_dictionary(page_id).map_err(|e| e.to_string())?.clone();
    for key in [b"MediaBox".as_slice(), b"CropBox", b"Resources", b"Rotate"] {
        if page.has(key) {
            continue;
        }
        let mut seen = HashSet::new();
        let mut node = page.get(b"Parent").and_then(Object::as_reference).ok();
        while let Some(id) = node.filter(|id| seen.insert(*id)) {
            let Ok(parent) = doc.get_dictionary(id) else { break };
            if let Ok(value) = parent.get(key) {
                page.set(key.to_vec(), value.clone());
                break;
            }
            node = parent.get(b"Parent").and_then(Object::as_reference).ok();
        }
    }
    if !page.has(b"MediaBox") {
        page.set("MediaBox", vec![0.into(), 0.into(), PAGE.0.into(), PAGE.1.into()]);
    }
    Ok(page)
}

/// The set compiled into one PDF: every part's pages in order. The same parts always give the
/// same bytes (nothing of the moment is written), so a retried compile gives the same hash.
pub fn compile(parts: &[Part<'_>]) -> Result<Vec<u8>, String> {
    let mut next_id = 1;
    let mut pages: Vec<ObjectId> = Vec::new();
    let mut objects = BTreeMap::new();
    for part in parts {
        let mut doc = match part {
            Part::Pdf(bytes) => pdf(bytes)?,
            Part::Text(bytes) => text_document(bytes)?,
        };
        for page_id in doc.get_pages().into_values() {
            let page = materialize(&doc, page_id)?;
            doc.objects.insert(page_id, Object::Dictionary(page));
        }
        doc.renumber_objects_with(next_id);
        next_id = doc.max_id + 1;
        pages.extend(doc.get_pages().into_values());
        objects.extend(doc.objects);
    }
    let mut out = Document::with_version("1.5");
    let pages_id = (next_id, 0);
    let catalog_id = (next_id + 1, 0);
    for (id, object) in objects {
        let kind = object.type_name().unwrap_or_default().to_vec();
        if matches!(kind.as_slice(), b"Catalog" | b"Pages" | b"Outlines" | b"Outline") {
            continue;
        }
        let object = match object {
            Object::Dictionary(mut page) if pages.contains(&id) => {
                page.set("Parent", pages_id);
                Object::Dictionary(page)
            }
            other => other,
        };
        out.objects.insert(id, object);
    }
    let kids: Vec<Object> = pages.iter().map(|id| Object::Reference(*id)).collect();
    let count = kids.len() as i64;
    out.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    out.objects.insert(catalog_id, Object::Dictionary(dictionary! { "Type" => "Catalog", "Pages" => pages_id }));
    out.trailer.set("Root", catalog_id);
    out.max_id = catalog_id.0;
    out.prune_objects();
    out.renumber_objects();
    out.compress();
    let mut bytes = Vec::new();
    out.save_to(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_texts(bytes: &[u8]) -> Vec<String> {
        let doc = Document::load_mem(bytes).unwrap();
        let n = doc.get_pages().len() as u32;
        (1..=n).map(|p| doc.extract_text(&[p]).unwrap()).collect()
    }

    fn one_page_pdf(words: &str) -> Vec<u8> {
        compile(&[Part::Text(words.as_bytes())]).unwrap()
    }

    #[test]
    fn text_and_pdfs_compile_page_by_page_in_order() {
        let first = compile(&[Part::Text(b"first part\x0csecond page of it")]).unwrap();
        let second = one_page_pdf("third, from a PDF");
        let compiled =
            compile(&[Part::Pdf(&first), Part::Pdf(&second), Part::Text("caf\u{e9} \u{2014} \u{201c}fin\u{201d}".as_bytes())]).unwrap();
        let texts = page_texts(&compiled);
        assert_eq!(texts.len(), 4, "{texts:?}");
        assert!(texts[0].contains("first part") && !texts[0].contains("second"), "{texts:?}");
        assert!(texts[1].contains("second page of it"), "{texts:?}");
        assert!(texts[2].contains("third, from a PDF"), "{texts:?}");
        assert!(texts[3].contains("café"), "{texts:?}");
        assert_eq!(
            compiled,
            compile(&[Part::Pdf(&first), Part::Pdf(&second), Part::Text("caf\u{e9} \u{2014} \u{201c}fin\u{201d}".as_bytes())]).unwrap(),
            "the same parts give the same bytes"
        );
    }

    #[test]
    fn long_text_wraps_and_breaks_into_pages() {
        let line = "word ".repeat(40);
        let text = vec![line.as_str(); 60].join("\n");
        let texts = page_texts(&compile(&[Part::Text(text.as_bytes())]).unwrap());
        // 200 characters wrap to 3 lines each: 180 lines over pages of 54.
        assert_eq!(texts.len(), 4);
        assert!(wrap(line.trim_end().as_bytes()).iter().all(|l| l.len() <= LINE_CHARS));
    }

    #[test]
    fn uploads_that_cannot_be_compiled_say_why() {
        assert!(check(&Part::Pdf(b"hello")).unwrap_err().contains("%PDF-"));
        assert!(check(&Part::Pdf(b"%PDF-1.5 but nothing else")).unwrap_err().contains("cannot be read"));
        assert!(check(&Part::Text(&[0xff, 0xfe])).unwrap_err().contains("UTF-8"));
        let beyond = check(&Part::Text("ok\n\u{65e5}\u{672c}".as_bytes())).unwrap_err();
        assert!(beyond.contains("line 2") && beyond.contains("U+65E5"), "{beyond}");
        assert!(check(&Part::Pdf(&one_page_pdf("fine"))).is_ok());
        assert!(check(&Part::Text(b"plain\r\nwith\ttabs")).is_ok());
    }
}
