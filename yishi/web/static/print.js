// The owner's follow-up slip: open the browser's print dialogue once the page (and its QR code) has loaded.
// The slip itself is hidden on screen (yishi.css .print-only): the link is for the paper, not for the staff.
window.addEventListener("load", function () { window.print(); });
