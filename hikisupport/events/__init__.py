"""Events (講演会, 養成講座, フォローアップ研修) and their sessions."""
