# ruff: noqa: E501  (PubMed XML and HTML fixtures keep their real, long lines)
"""Documents in the formats people hold papers in, written by the tests themselves (nothing
downloaded): a two-page PDF article with a running header, page numbers, hyphenated line breaks
and a reference list; a journal web page with navigation around the article; PubMed XML and
MEDLINE records."""

from __future__ import annotations

from pathlib import Path

HEADER = "Journal of Renal Oncology 2019; 12:101-108"
PDF_TITLE = "Sorafenib after sunitinib failure in metastatic renal cell carcinoma"
PDF_AUTHORS = "Anna Berg, Carl Dahl, Eva Fisk"
PDF_DOI = "10.1234/jro.2019.0042"
CAPTION = "Figure 1. Kaplan-Meier estimate of progression-free survival in the whole cohort."
REFERENCE = (
    "1. Escudier B, Eisen T. Sorafenib in advanced clear-cell renal-cell carcinoma. N Engl J Med 2007."
)

# Page 1: the front matter, the abstract and the methods, with two words broken across lines:
# "meta-/static" (a syllable break: the hyphen goes) and "progression-/free" (a compound the paper
# writes with its hyphen elsewhere: the hyphen stays).
PAGE_1 = [
    (16, PDF_TITLE),
    (10, PDF_AUTHORS),
    (9, "Department of Oncology, University Hospital, Uppsala, Sweden"),
    (9, f"doi:{PDF_DOI}"),
    (12, "Abstract"),
    (10, "We studied sorafenib in 52 patients with meta-"),
    (10, "static renal cell carcinoma whose disease had progressed on sunitinib."),
    (10, "Progression-free survival was the primary end point."),
    (12, "Methods"),
    (10, "Patients received sorafenib 400 mg twice daily until progression or unacceptable"),
    (10, "toxicity. Tumours were assessed by computed tomography every eight weeks and the"),
    (10, "median progression-"),
    (10, "free survival was estimated with the Kaplan-Meier method."),
    (10, CAPTION),
]
# Page 2: the results (the only place the overall survival is given), the same caption again,
# and the reference list.
PAGE_2 = [
    (12, "Results"),
    (10, "The median overall survival with sorafenib was 17.3 months, and the median"),
    (10, "progression-free survival was 4.4 months. Hand-foot skin reaction occurred in 31% of"),
    (10, "patients."),
    (10, CAPTION),
    (12, "Discussion"),
    (10, "Sorafenib retained activity after sunitinib failure in this cohort."),
    (12, "References"),
    (10, REFERENCE),
    (10, "2. Motzer RJ, Hutson TE. Sunitinib versus interferon alfa in metastatic renal-cell"),
    (10, "carcinoma. N Engl J Med 2007."),
]


def write_article_pdf(path: Path, *, with_info: bool = False, password: str | None = None) -> Path:
    """The two-page article as a PDF; with_info puts title and author into the PDF info too."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    if with_info:
        pdf.set_title(PDF_TITLE)
        pdf.set_author(PDF_AUTHORS)
    if password is not None:
        pdf.set_encryption(owner_password="owner", user_password=password)
    for number, lines in enumerate([PAGE_1, PAGE_2], start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=8)
        pdf.set_xy(20, 10)
        pdf.cell(0, 5, HEADER)
        y = 22.0
        for size, text in lines:
            pdf.set_font("Helvetica", "B" if size > 11 else "", size=size)
            pdf.set_xy(20, y)
            pdf.cell(0, size * 0.45, text)
            y += size * 0.45 + 1.5
        pdf.set_font("Helvetica", size=8)
        pdf.set_xy(100, 285)
        pdf.cell(0, 5, str(number))
    pdf.output(str(path))
    return path


ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Sorafenib in hepatocellular carcinoma | Liver Journal</title>
<meta name="citation_title" content="Sorafenib in advanced hepatocellular carcinoma: a cohort study">
<meta name="citation_author" content="Kim, Min-jun">
<meta name="citation_author" content="Lee, Ji-woo">
<meta name="citation_journal_title" content="Liver Journal">
<meta name="citation_publication_date" content="2018/03/14">
<meta name="citation_doi" content="10.5555/lj.2018.7">
<meta name="citation_pmid" content="29000001">
<style>body { font-family: serif }</style>
<script>window.tracking = "Subscribe to our newsletter";</script>
</head><body>
<header class="site-header"><a href="/">Liver Journal</a> <a href="/login">Sign in</a></header>
<nav><ul><li><a href="/current">Current issue</a></li><li><a href="/archive">Archive</a></li></ul></nav>
<div class="cookie-banner">We use cookies to improve your experience.</div>
<main>
<article>
<h1>Sorafenib in advanced hepatocellular carcinoma: a cohort study</h1>
<div class="share-buttons">Share on social media</div>
<h2>Background</h2>
<p>Sorafenib is the standard first-line therapy for advanced <em>hepatocellular</em> carcinoma.</p>
<h2>Results</h2>
<p>Among 120 patients, the disease control rate was 62% and the median time to progression was
5.5 months.</p>
<ul><li>Diarrhoea occurred in 28% of patients.</li><li>Fatigue occurred in 22%.</li></ul>
<table><tr><th>Outcome</th><th>Value</th></tr><tr><td>Overall survival</td><td>10.7 months</td></tr></table>
<h2>References</h2>
<ol><li>Llovet JM, et al. Sorafenib in advanced hepatocellular carcinoma. N Engl J Med 2008.</li></ol>
</article>
<aside class="related">Related articles: Regorafenib after sorafenib</aside>
</main>
<footer>Copyright 2018 Liver Journal. All rights reserved.</footer>
</body></html>
"""

PUBMED_XML = """<?xml version="1.0" ?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">
<PubmedArticleSet>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">19451442</PMID>
    <Article PubModel="Print-Electronic">
      <Journal>
        <JournalIssue CitedMedium="Internet"><Volume>27</Volume><PubDate><Year>2009</Year><Month>Jul</Month></PubDate></JournalIssue>
        <Title>Journal of clinical oncology : official journal of the American Society of Clinical Oncology</Title>
        <ISOAbbreviation>J Clin Oncol</ISOAbbreviation>
      </Journal>
      <ArticleTitle>Sorafenib in advanced <i>clear-cell</i> renal cell carcinoma: final efficacy and safety results.</ArticleTitle>
      <ELocationID EIdType="doi" ValidYN="Y">10.1200/JCO.2008.19.5511</ELocationID>
      <Abstract>
        <AbstractText Label="PURPOSE" NlmCategory="OBJECTIVE">To report final overall survival of the phase III trial.</AbstractText>
        <AbstractText Label="PATIENTS AND METHODS" NlmCategory="METHODS">903 patients were randomly assigned to sorafenib or placebo.</AbstractText>
        <AbstractText Label="RESULTS" NlmCategory="RESULTS">Median overall survival was 17.8 months with sorafenib versus 15.2 months with placebo (HR 0.88).</AbstractText>
        <AbstractText Label="CONCLUSION" NlmCategory="CONCLUSIONS">Sorafenib prolongs survival in advanced renal cell carcinoma.</AbstractText>
      </Abstract>
      <AuthorList CompleteYN="Y">
        <Author ValidYN="Y"><LastName>Escudier</LastName><ForeName>Bernard</ForeName><Initials>B</Initials></Author>
        <Author ValidYN="Y"><LastName>Eisen</LastName><ForeName>Tim</ForeName><Initials>T</Initials></Author>
      </AuthorList>
    </Article>
    <MeshHeadingList>
      <MeshHeading><DescriptorName UI="D002292">Carcinoma, Renal Cell</DescriptorName></MeshHeading>
    </MeshHeadingList>
  </MedlineCitation>
  <PubmedData>
    <ArticleIdList>
      <ArticleId IdType="pubmed">19451442</ArticleId>
      <ArticleId IdType="doi">10.1200/JCO.2008.19.5511</ArticleId>
    </ArticleIdList>
  </PubmedData>
</PubmedArticle>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">20000002</PMID>
    <Article PubModel="Print">
      <Journal><JournalIssue><PubDate><MedlineDate>2010 Jan-Feb</MedlineDate></PubDate></JournalIssue><Title>Oncology letters</Title></Journal>
      <ArticleTitle>A letter without an abstract.</ArticleTitle>
    </Article>
  </MedlineCitation>
</PubmedArticle>
</PubmedArticleSet>
"""

MEDLINE = """PMID- 21000003
OWN - NLM
STAT- MEDLINE
DP  - 2011 Mar 10
TI  - Sorafenib for relapsed FLT3-ITD positive acute myeloid leukemia: a compassionate
      use study.
AB  - BACKGROUND: FLT3-ITD mutations predict a poor prognosis in acute myeloid leukemia.
      METHODS: Six patients received sorafenib 400 mg twice daily. RESULTS: All 6 patients
      responded, and 2 remained in complete molecular remission after 200 days.
      CONCLUSIONS: Sorafenib is active in FLT3-ITD positive leukemia.
FAU - Metzelder, Stephan
AU  - Metzelder S
FAU - Neubauer, Andreas
AU  - Neubauer A
JT  - Blood
TA  - Blood
AID - 10.1182/blood-2008-11-190314 [doi]
MH  - Leukemia, Myeloid, Acute/drug therapy

PMID- 21000004
TI  - An unstructured abstract.
AB  - Sorafenib was given to one patient with desmoid tumour, who responded for 24 months.
AU  - Doe J
DP  - 2012
JT  - Case Reports
"""
