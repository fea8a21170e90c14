#!/usr/bin/python3
"""Writes sklearn_tfidf.json: the cosines scikit-learn's TfidfVectorizer
gives between single-turn queries and documents, the reference the
retrieval tests compare with. Run from this directory with Debian's
python3-sklearn (apt-get install python3-sklearn); the tests never need it.

The token pattern keeps runs of letters and digits (Python's \\w without
the underscore), as the Go tokenizer does for text without combining marks.
"""
import json

from sklearn.feature_extraction.text import TfidfVectorizer
import sklearn

docs = [
    "I forgot my password and cannot log in.",
    "My order #4521 has not arrived yet, where is my order?",
    "How do I reset my password? Password reset link expired.",
    "Please cancel my subscription_plan today.",
    "The app crashes when I open the café menu, CAFÉ page is blank.",
    "Where is my refund? I returned the order 2 weeks ago.",
    "I want to change the delivery address for order 4521.",
    "Can I pay with PayPal or only with a credit card?",
    "My password was changed and I don't know why.",
    "Login fails: error 403 on the login page, login again fails.",
]
queries = [
    "password reset",
    "Where is my ORDER",
    "refund for order 4521",
    "the café page crashes",
    "login error 403",
    "zzz qqq",
    "cancel subscription plan",
    "can I pay by card? card card",
]

vec = TfidfVectorizer(lowercase=True, token_pattern=r"(?u)[^\W_]+", sublinear_tf=True)
D = vec.fit_transform(docs)
Q = vec.transform(queries)
cos = (Q @ D.T).toarray()
out = {
    "generator": "scikit-learn %s TfidfVectorizer(sublinear_tf=True, token_pattern=r'(?u)[^\\W_]+')" % sklearn.__version__,
    "docs": docs,
    "queries": queries,
    "cosines": [[float(x) for x in row] for row in cos],
}
with open("sklearn_tfidf.json", "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
