"""Knowledge base: articles agents search during calls, in English, Chinese and Korean."""
