"""The screen model uiautomator2 drives: view hierarchies, selectors, clicks."""
