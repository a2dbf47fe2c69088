"""The expression language: the lexer (text -> tokens), the Pratt parser (tokens -> Expr), and
Expr itself, the hash-consed DAG every other stage walks."""
