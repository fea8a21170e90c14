package synth

// Templates use two constructs, expanded by gen.expand:
//
//	[a|b|c]  one alternative, chosen uniformly; alternatives may be empty
//	         and may nest.
//	{slot}   a value of the current conversation, such as {order}.
//
// Template text never contains a literal '[', ']', '{' or '}', nor a '|'
// inside brackets.
// Scenario prose never uses a PII slot ({email}, {phone}, {card}, {iban},
// {ip4}, {ip6}) or {ref}: those appear only through the pii and lookalike
// tables, so Options.PIIRate and Options.LookalikeRate alone govern them.

// qa is a customer follow-up question and the agent's answer to it.
type qa struct{ q, a string }

// piiLine is a sentence that discloses one PII value.
type piiLine struct {
	k kind
	t string
}

// scenario is one kind of support request and the phrases that carry it
// through a ticket: the customer's opening message, the agent's clarifying
// question, the details the customer supplies, and the agent's resolution.
//
// ask[i] and provide[i] go together: the customer usually answers the
// question the agent asked. fits[i], when present, lists the resolutions
// that answer open[i]; otherwise any resolution does.
type scenario struct {
	tag     string // primary help-desk tag
	topic   string // what a web form's topic dropdown would say
	team    string // who an escalation goes to
	subject []string
	open    []string
	ask     []string
	provide []string
	resolve []string
	fits    [][]int
	follow  []qa
	pii     []piiLine
}

var scenarios = [...]scenario{
	{
		tag: "billing", topic: "Billing", team: "payments",
		subject: []string{
			"Charged twice", "Double charge on my card", "Duplicate payment for order {order}",
			"Why was I billed twice?", "Billing issue", "Unexpected charge of {amount}",
			"Charged twice for one order!!", "duplicate charge",
		},
		open: []string{
			"I [just |]noticed [that |]I was charged twice for order {order}. [Both charges are|There are two charges] for {amount} [on my statement|in my banking app], dated {date}.",
			"[My bank statement shows|I can see] two [identical |]payments of {amount} to {company} on {date}, but I only placed one order ({order}). [Can you please refund the duplicate?|Please refund one of them.|What happened here?]",
			"I got charged {amount} twice [this month|on {date}] for my {plan} subscription. [I only have one account.|I definitely don't have two accounts.|Please look into this.]",
			"There's a duplicate charge on my account for {amount}. [The order number is {order}.|Order: {order}|It's for order {order}.]",
			"You took {amount} from my account twice for the same order ({order}). [This is the second time this has happened.|Not happy about this.|I need the money back asap.]",
			"[Quick question|Question about my bill] - why do I see two charges of {amount} from {company} on {date}? [I only ordered once.|Only one order shows in my account.]",
		},
		ask: []string{
			"[Could you|Can you please] confirm the last four digits of the card that was charged and the dates of both transactions? [That will help me find them in our payment system.|I'll then check this with our payments team.]",
			"[Would you mind sending|Could you send] a screenshot of the two transactions from your bank statement? Please [hide|black out] everything except the amount, date and merchant name.",
			"I can see order {order} on our side. Can you tell me whether both charges are still pending or if one of them has already posted?",
		},
		provide: []string{
			"Sure, it's the [Visa|Mastercard|card] ending in {last4}. [Both|The two] charges are from {date}[, a few minutes apart|].",
			"[I've attached|Attached is] a screenshot[ from my banking app|]. [The amounts are identical.|You can see both charges of {amount}.]",
			"The card ends in {last4}. [One of them now says pending, the other one is posted.|Both show as completed.|Both are still pending.]",
		},
		resolve: []string{
			"Thanks, {first}. I checked with our payments team: the second charge of {amount} is a [pre-authorisation|temporary authorization hold] [that will drop off|which should disappear] within {days} business days. [If it's still there after that, let us know.|You don't need to do anything.]",
			"You're right, our system [processed the payment twice|captured the payment twice]. I've [issued|processed] a refund of {amount} for the duplicate charge; it [usually takes|can take] {days}-{days2} business days to show up on your statement.",
			"I've refunded the duplicate payment of {amount} [today|just now]. [Sorry about that!|Apologies for the hassle.] You'll get a confirmation email shortly.",
		},
		follow: []qa{
			{"How long until I see the money back?", "Refunds leave us immediately, but banks usually take {days}-{days2} business days to post them."},
			{"Will this happen again with my next order?", "It shouldn't. The issue was caused by [a timeout during checkout|a glitch with our payment provider on {date}] and it has been fixed."},
		},
		pii: []piiLine{
			{kCard, "[The card that was charged is|It was charged to my card] {card}."},
			{kCard, "My card {card} was charged twice."},
			{kEmail, "My account email is {email}."},
			{kPhone, "You can call me on {phone} if that's easier."},
		},
	},
	{
		tag: "refund", topic: "Returns & refunds", team: "billing",
		subject: []string{
			"Where is my refund?", "Refund not received", "Refund for order {order}",
			"Still waiting on refund", "Re: Return {order}", "refund status?", "REFUND",
		},
		open: []string{
			"I returned my {product} [on|back on] {date} and [still haven't received|have not yet received] my refund of {amount}. [It's been over two weeks.|Your website said 5-7 days.|Can you check what's going on?]",
			"[You|Your team] confirmed my refund for order {order} [a while ago|on {date}] but [nothing has arrived|I don't see it] [in my account|on my card] yet.",
			"Where is my refund? [Order|Order number] {order}, amount {amount}. [I've been waiting for ages.|This is getting ridiculous.|Please advise.]",
			"[Quick question:|Question:|Just wondering,] how long do refunds [usually take|normally take to process]? I sent back the {product} (order {order}) and the tracking shows it was delivered to you on {date}.",
			"Still no refund for the {product} I sent back. [The return label was yours, so you must have it.|{carrier} says it was delivered on {date}.]",
		},
		ask: []string{
			"[Could you|Can you] [confirm|send me] the order number and the email address you used at checkout? [I'll check the status of the return with our warehouse.|]",
			"I'm sorry for the wait. [Do you have|Could you share] the return tracking number so I can confirm the warehouse received it?",
			"Let me look into this. Did you ship the return with our prepaid label or with your own carrier?",
		},
		provide: []string{
			"Order number is {order}[, I paid by card|, paid with PayPal|].",
			"Sure, the return tracking is {tracking} ({carrier}).",
			"Your prepaid label, via {carrier}. Tracking: {tracking}",
			"It's {order}. [I dropped the parcel at the {carrier} store on {date}.|{carrier} says delivered on {date}.]",
		},
		resolve: []string{
			"Thanks! The warehouse [received|checked in] your return on {date} and the refund of {amount} was [issued|processed] [today|this morning]. [Please allow {days} business days for it to appear.|Depending on your bank it can take {days} business days.]",
			"I can see the return [arrived|was delivered] but it [hadn't been processed yet|was stuck in our inspection queue]. I've [pushed it through|processed it manually] now: {amount} [is on its way back to you|will be refunded to your original payment method].",
			"Your refund of {amount} was sent on {date}. [Banks can take up to {days} business days to show it|If you don't see it by {date2}, please contact your bank with the date and amount].",
		},
		follow: []qa{
			{"Will I get a confirmation email?", "Yes, you'll receive a refund confirmation email [within the hour|shortly] with the amount and the date."},
			{"Can I get store credit instead?", "[Unfortunately|Sorry,] the refund has already been issued to your original payment method, so we can't convert it to store credit now."},
		},
		pii: []piiLine{
			{kIBAN, "[Can you|Could you please] send the refund to my bank account instead? IBAN: {iban}"},
			{kIBAN, "My IBAN is {iban} if you need to transfer it manually."},
			{kCard, "It should go back to my card {card}."},
			{kEmail, "The order was placed under {email}."},
		},
	},
	{
		tag: "returns", topic: "Returns & refunds", team: "returns",
		subject: []string{
			"Return request", "How do I return my order?", "Return {product}", "Refund request - order {order}",
			"Returning an item", "return label please",
		},
		open: []string{
			"I'd like to return the {product} from order {order}. [It doesn't fit my space.|It's not what I expected.|I changed my mind.] [How do I get a return label?|What's the process?]",
			"I ordered the {product} on {date} and [would like|want] to send it back for a refund. [It's unopened.|I've only used it once.]",
			"Is it too late to return my {product}? [I received it on {date}.|It arrived on {date}.] [The order number is {order}.|]",
			"The {product} is [too small|too big|the wrong colour|not compatible with my setup]. Can I exchange it or return it? [Order {order}.|]",
		},
		ask: []string{
			"[No problem!|Happy to help with that.] Could you confirm the order number and [whether the item is unused|the reason for the return]?",
			"Our return window is 30 days from delivery. [Can you tell me|Could you let me know] [the condition of|whether you still have the original packaging for] the {product}?",
			"Would you prefer a refund or an exchange for a different [size|model]?",
		},
		provide: []string{
			"Order {order}. [Still in the original box.|Unused, still sealed.|Used it once, it's in perfect condition.]",
			"[I still have the box.|It's in the original packaging.|The box is a bit battered but the item is fine.] It arrived on {date}, so [it should still be within the window|I think I'm within 30 days].",
			"[Refund please.|A refund, thanks.|An exchange would be great.]",
		},
		resolve: []string{
			"I've emailed you a prepaid {carrier} return label. [Once we receive the item, we'll refund|After the item arrives at our warehouse, we'll refund] {amount} [within {days} business days|to your original payment method].",
			"Your return has been approved. [Please drop the parcel at any {carrier} location|Please pack the item securely and drop it at {carrier}] by {date2}; the refund of {amount} will follow once it's checked in.",
			"I've set up the exchange: [send the {product} back with the label I just emailed|use the attached label to return the item], and we'll ship the replacement as soon as it's scanned by {carrier}.",
		},
		follow: []qa{
			{"Do I need to print the label?", "[If you don't have a printer,|No printer? No problem -] you can show the QR code in the email at the {carrier} counter."},
			{"Is return shipping free?", "Yes, returns are free for orders shipped within [the US|the UK|the EU]."},
		},
		pii: []piiLine{
			{kPhone, "Please call me on {phone} to arrange the pickup."},
			{kEmail, "Send the label to {email} please."},
		},
	},
	{
		tag: "login", topic: "Account access", team: "account security",
		subject: []string{
			"Can't log in", "Login not working", "Password reset email not arriving", "Locked out of my account",
			"Account locked", "Cannot sign in", "cant login!!!", "Sign-in problem",
		},
		open: []string{
			"I can't log in to my account. [Every time I try I get|It keeps saying] {error}. [I've already reset my password twice.|I've tried on two different browsers.|]",
			"[The|Your] password reset email [never arrives|isn't coming through]. I've checked spam [and|but] [nothing|still nothing]. [Can you help?|What am I supposed to do?]",
			"My account got locked after [too many|a few|{n}] failed login attempts [this morning|yesterday|on {date}]. [How long until it unlocks?|Can you unlock it please?|I need access for work today.]",
			"[Since|After] the latest app update ({version}) I can't sign in on my {device}. It just [spins forever|goes back to the login screen].",
			"I'm stuck in a login loop: I enter my password, [it accepts it|it says success], and then I'm back on the sign-in page. [{browser}, if that matters.|]",
		},
		ask: []string{
			"I'm sorry you're having trouble signing in. [To verify your identity,|For security reasons,] could you confirm the date of your last order and the country on your billing address?",
			"[Could you|Can you] tell me which browser and device you're using, and [send|share] a screenshot of the error?",
			"Thanks for reaching out. Have you tried clearing your browser cache or using a private window? If that doesn't work, let me know the exact error message.",
		},
		provide: []string{
			"It's the same email I'm writing from. Last order was {order} on {date}.",
			"{browser} on {device}. The error is {error}.",
			"Tried both, [same thing|still broken|no luck]. [Screenshot attached.|I get {error}.]",
		},
		resolve: []string{
			"Thank you. I've unlocked your account and [sent a new|triggered a fresh] password reset link; it's valid for {hours} hours. [If it doesn't arrive in a few minutes, check your spam folder.|]",
			"It looks like your account was [temporarily locked|flagged] by our security system after several failed attempts. I've cleared the lock - you should be able to log in now.",
			"This is a known issue with version {version} on {device}. Our engineers [released a fix|are rolling out a fix] in version {version2}; [in the meantime|until then] you can log in from the website.",
		},
		fits: [][]int{{0, 1}, {0}, {0, 1}, {2}, {0, 2}},
		follow: []qa{
			{"Is my account safe? I'm worried someone tried to get in.", "[I've checked the login history and|Looking at the login history,] all attempts came from your usual location. [To be safe,|As a precaution,] we recommend turning on two-factor authentication."},
			{"Do I need to reset my password again?", "Not unless you want to - the lock is cleared and your current password still works."},
		},
		pii: []piiLine{
			{kIPv4, "I'm logging in from {ip4} if that helps."},
			{kIPv6, "My IP address is {ip6}[, according to whatismyip|]."},
			{kEmail, "The account email is {email}."},
			{kEmail, "Username is {email}."},
		},
	},
	{
		tag: "2fa", topic: "Account access", team: "account security",
		subject: []string{
			"2FA code not received", "Lost my phone - can't pass 2FA", "Two-factor authentication problem",
			"Verification code never arrives", "Reset 2FA", "SMS code not coming",
		},
		open: []string{
			"I [got|switched to] a new [phone|{device}] [last week|on {date}|recently] and [now |]I can't [log in|get into my account] because the [2FA|two-factor|verification] codes [go to my old phone|are tied to my old authenticator app].",
			"The SMS verification code [never arrives|takes forever and then says expired]. I've requested it {n} times [today|in the last hour].",
			"I lost my phone [last week|on {date}] and with it my authenticator app. [How do I reset 2FA?|Please remove two-factor from my account.]",
			"[Your|The] [authenticator|2FA] code keeps getting rejected with {error}. [The time on my phone is correct.|I've double-checked the time settings.]",
		},
		ask: []string{
			"[For your security,|To protect your account,] we need to verify [it's really you|your identity] before disabling two-factor authentication. Could you [reply with|confirm] the last four digits of the card on file and the approximate date of your last order?",
			"Could you confirm the phone number the codes should be going to? [Only the last 4 digits are needed.|Please only send the last four digits.]",
		},
		provide: []string{
			"The card ends in {last4} and my last order was around {date}.",
			"Last four digits [are|:] {last4}. [It's the same number I've always had.|I haven't changed it.]",
		},
		resolve: []string{
			"Thank you for verifying. I've [reset|removed] two-factor authentication on your account. [Please sign in and set it up again from Settings > Security as soon as possible.|Next time you log in you'll be prompted to set it up again.]",
			"Our SMS provider had [delays|an outage] [for some carriers|in your region] on {date}. [It's resolved now - please request a new code.|Meanwhile you can choose \"Call me\" on the verification screen.]",
		},
		fits: [][]int{{0}, {1}, {0}, {0, 1}},
		follow: []qa{
			{"Can I use an authenticator app instead of SMS?", "Yes! Under Settings > Security you can switch to any TOTP app such as Google Authenticator or 1Password."},
			{"What if this happens again?", "Save the backup codes shown when you set up 2FA - each one lets you sign in once without your phone."},
		},
		pii: []piiLine{
			{kPhone, "The codes should go to {phone}."},
			{kPhone, "My number is {phone}, nothing has changed."},
			{kIPv4, "I'm trying from {ip4}, in case you block by IP."},
			{kIPv6, "Your app shows my last login from {ip6}, which is my home network."},
		},
	},
	{
		tag: "shipping", topic: "Orders & delivery", team: "logistics",
		subject: []string{
			"Where is my order?", "Order {order} not arrived", "Late delivery", "Package stuck in transit",
			"Delivery delay - order {order}", "No update on tracking", "WHERE IS MY PACKAGE",
		},
		open: []string{
			"My order {order} was supposed to arrive [by|on] {date} [but|and] it's still not here. [Tracking hasn't updated in days.|The tracking just says \"in transit\".]",
			"[Where is my order?|Any news on my order?] I ordered the {product} on {date} and [haven't received anything|still nothing]. [This was a gift.|I need it for the weekend.|]",
			"The tracking number {tracking} [shows|says] \"[Label created|Exception|Delivery attempted]\" since {date}. [What's going on?|Can you check with {carrier}?]",
			"It's been {days} days since I ordered and [nothing has shipped|the order still says processing]. Order number {order}.",
			"{carrier} says my parcel was delivered at {time} [today|yesterday] but there's nothing here. [I checked with my neighbours.|No parcel at the door or in the mailroom.]",
		},
		ask: []string{
			"I'm sorry your order is late. [Could you|Can you] confirm the shipping address [on the order|you used] so I can check with {carrier}?",
			"Thanks for reaching out. Could you [send me|share] the order number[ or the email used for the order|]? [I'll look up the shipment right away.|]",
			"I'm sorry to hear that. Could you check with neighbours and around the building, and confirm the delivery address is correct?",
		},
		provide: []string{
			"Order {order}. [Shipping to my home address, same as always.|It's going to my office address.]",
			"Sure - {order}. Tracking is {tracking}.",
			"[Already checked, nothing.|Address is correct, I've ordered there many times.|Neighbours don't have it.]",
		},
		resolve: []string{
			"I checked with {carrier}: your parcel [was delayed at the sorting center|missed a connection] and is now expected on {date2}. [I've added a {amount2} credit to your account for the inconvenience.|Sorry for the wait!]",
			"It looks like the parcel was [lost in transit|damaged in transit and returned to us]. I've [shipped a replacement|sent a replacement] [by express|with priority shipping]; the new tracking number is {tracking}.",
			"Your order was held because of a stock issue with the {product}. It's [now shipped|shipping today] and should arrive by {date2}.",
		},
		fits: [][]int{nil, {0, 2}, {0, 1}, {2}, {1}},
		follow: []qa{
			{"Can I get the shipping fee back?", "Absolutely - I've refunded the {amount2} shipping fee; you'll see it within {days} business days."},
			{"Can it be delivered to a pickup point instead?", "Once it's with {carrier} we can't change the address, but you can [redirect it|choose a pickup point] using the link in your tracking email."},
		},
		pii: []piiLine{
			{kPhone, "The courier can call me at {phone}."},
			{kEmail, "Updates can go to {email}."},
		},
	},
	{
		tag: "damaged", topic: "Orders & delivery", team: "warehouse",
		subject: []string{
			"Item arrived damaged", "Broken {product}", "Damaged in shipping", "Order {order} - damaged item",
			"Cracked on arrival", "Received broken item",
		},
		open: []string{
			"My {product} arrived [damaged|broken|with a cracked panel] [today|yesterday]. [The box was completely crushed.|The packaging looked fine, but the item inside is broken.] Order {order}.",
			"[I just|Just] unpacked the {product} and [it's scratched all over|one of the legs is snapped|the screen is cracked]. [Really disappointed.|Not what I expected for {amount}.]",
			"Received order {order} [on {date}|today], [but|and] the {product} [doesn't turn on|is dented|has a big crack]. [I'd like a replacement.|I want a refund.]",
		},
		ask: []string{
			"I'm so sorry it arrived like that! Could you [send|attach] a [couple of photos|photo] of the damage and the [outer box|shipping label]?",
			"That's not the experience we want you to have. [Would you prefer|Do you want] a replacement or a full refund?",
		},
		provide: []string{
			"Photos attached. [You can see the crack on the left side.|The box was wet too.]",
			"[A replacement please.|Replacement, if you have it in stock.|Just refund me please.]",
		},
		resolve: []string{
			"Thanks for the photos. I've [arranged|sent out] a replacement {product} [at no cost|free of charge]; [it should arrive by {date2}.|you'll get tracking by email.] No need to return the damaged one.",
			"I've issued a full refund of {amount}[ to your original payment method|]. [You'll receive a confirmation email shortly.|]",
		},
		follow: []qa{
			{"What should I do with the broken one?", "You can [keep it or recycle it|dispose of it] - [we don't need it back.|no need to return it.]"},
			{"Will the replacement be packed better?", "I've added a note for the warehouse to double-box it."},
		},
		pii: []piiLine{
			{kPhone, "Call me on {phone} if you need more details."},
			{kCard, "Refund it to {card} please."},
			{kEmail, "Send the label to {email}."},
		},
	},
	{
		tag: "wrong-item", topic: "Orders & delivery", team: "warehouse",
		subject: []string{
			"Wrong item received", "Received someone else's order", "Incorrect item in my package",
			"Order {order} - wrong product", "This is not what I ordered",
		},
		open: []string{
			"I ordered the {product} but [received|got] [something completely different|the wrong colour|a different model]. Order {order}.",
			"The package I got [today|on {date}] [has|contains] [someone else's order|items I didn't order]. [My order was {order}.|I need my {product}.]",
			"Half of my order is missing: the {product} wasn't in the box[ even though the packing slip lists it|]. [Order {order}.|]",
		},
		ask: []string{
			"I'm sorry about the mix-up! Could you send a photo of what you received and the packing slip?",
			"Thanks for letting us know. Could you confirm the item code printed on the label of what you received?",
		},
		provide: []string{
			"Photo attached. [The label says something completely different.|It's clearly not a {product}.]",
			"[The slip|The packing slip] says {order} but the item is wrong.",
		},
		resolve: []string{
			"I've shipped the correct {product} [today|with express delivery]; you'll get tracking by email. [A {carrier} courier will collect the wrong item on {date2}.|Please keep or donate the wrong item.]",
			"The missing {product} is on its way[ separately|] and should arrive by {date2}. Sorry for the trouble!",
		},
		fits: [][]int{{0}, {0}, {1}},
		follow: []qa{
			{"Do I have to be home for the pickup?", "No, you can leave the parcel with a neighbour or at the door, as long as the label is visible."},
		},
		pii: []piiLine{
			{kPhone, "My number is {phone} for the courier."},
		},
	},
	{
		tag: "subscription", topic: "Subscription", team: "billing",
		subject: []string{
			"Upgrade plan", "Downgrade my subscription", "Change plan to {plan2}", "Switch from {plan} to {plan2}",
			"Subscription question", "plan change",
		},
		open: []string{
			"I'd like to [switch|change] my subscription from {plan} to {plan2}. [Will I be charged the difference right away?|How does billing work if I change mid-cycle?]",
			"[Can I|How do I] downgrade to {plan2}? We don't use [most of the|all the] {plan} features anymore.",
			"We're adding {n} people to our team - can you move us to {plan2}? [We're currently on {plan}.|]",
			"Is it possible to pause my {plan} subscription for [a couple of|{n}|two or three] months instead of cancelling? [We're closed over the summer.|I'm travelling until {date2}.|]",
		},
		ask: []string{
			"[Happy to help with that!|Sure thing.] Just to confirm: do you want the change to take effect [immediately or at your next renewal on {date2}|now or at the end of the current billing period]?",
			"Of course. Is this for the account you're writing from, or for another workspace?",
		},
		provide: []string{
			"[Immediately please.|Right away.|At renewal is fine.]",
			"This account, [the one I'm writing from|same one].",
		},
		resolve: []string{
			"Done! Your plan is now {plan2}. [You'll see a prorated charge of {amount} on your next invoice.|The prorated difference of {amount} will be credited to your next invoice.]",
			"I've scheduled the change to {plan2} for {date2}; until then you keep all {plan} features.",
			"Your subscription is paused until {date2}. You won't be charged in the meantime and your data stays as it is.",
		},
		fits: [][]int{{0, 1}, {0, 1}, {0}, {2}},
		follow: []qa{
			{"Will I lose my data if I downgrade?", "No, all your data stays. [Features only in {plan} become read-only.|You just won't be able to use the {plan}-only features.]"},
			{"Can I switch back later?", "Yes, any time from Settings > Billing."},
		},
		pii: []piiLine{
			{kCard, "Please charge the new plan to {card} instead of the old card."},
			{kEmail, "Our billing contact is {email}."},
		},
	},
	{
		tag: "cancellation", topic: "Subscription", team: "billing",
		subject: []string{
			"Cancel my subscription", "Cancellation request", "Stop auto-renewal", "Please cancel",
			"Charged after cancelling", "cancel",
		},
		open: []string{
			"Please cancel my subscription [effective immediately|at the end of this billing period]. [I no longer need it.|It's too expensive for us right now.|]",
			"I cancelled my {plan} plan on {date} but was still charged {amount} [today|this morning]. [Please refund this.|This is unacceptable.]",
			"How do I turn off auto-renew[ for my {plan} plan|]? I [can't find the option|looked everywhere] in [the app|my account settings|the billing page]. [It renews on {date2}.|]",
			"I want to cancel. [Your prices went up again.|We've moved to another tool.|Not using it enough.]",
		},
		ask: []string{
			"I'm sorry to see you go! [May I ask what made you decide to leave?|Could you share why you're cancelling?] [We could also offer you {n} months at 50% off.|We could also pause your subscription instead.]",
			"Could you confirm which account the subscription is on, so I cancel the right one?",
		},
		provide: []string{
			"[No thanks, please just cancel.|Just not using it enough.|The price went up too much.]",
			"The one I'm writing from. [Please confirm once it's done.|]",
		},
		resolve: []string{
			"Your subscription has been cancelled and won't renew. [You'll keep access until {date2}.|Access continues until the end of the paid period.] [I've also refunded the {amount} renewal charge.|]",
			"I've turned off auto-renewal; your {plan} plan stays active until {date2} and then ends. [No further charges will be made.|]",
		},
		follow: []qa{
			{"Will I get a confirmation?", "Yes, a cancellation confirmation has been sent to your account email."},
			{"What happens to my data?", "We keep it for 90 days in case you come back, then it's deleted."},
		},
		pii: []piiLine{
			{kCard, "Also please remove my card {card} from the account."},
			{kEmail, "The subscription is under {email}."},
			{kIBAN, "The direct debit comes from {iban} - please stop it."},
		},
	},
	{
		tag: "bug", topic: "Technical problem", team: "engineering",
		subject: []string{
			"App crashes on startup", "Bug: {error}", "Export not working", "Checkout button does nothing",
			"Sync broken since update", "Error when uploading", "Bug report",
		},
		open: []string{
			"The app [crashes|closes] [as soon as I open it|when I tap Settings] on my {device}. [Version {version}.|I'm on the latest version ({version}).] [Reinstalling didn't help.|]",
			"When I try to export my data I get {error}. [Steps: open Reports, choose CSV, click Export.|It worked fine last week.]",
			"Found a bug: [the checkout button doesn't do anything|the page goes blank] [in {browser}|on {device}]. [The console shows {error}.|]",
			"[Since|After] the update [yesterday|on {date}] my data no longer syncs between my {device} and the web app.",
			"Uploads fail at about 90% with {error}. [Tried smaller files, same thing.|Happens on wifi and on mobile data.]",
		},
		ask: []string{
			"Thanks for the report! Could you [send|share] the app version, [your device model|the device you're using] and, if possible, a screen recording of the issue?",
			"[Could you|Would you] try [logging out and back in|clearing the app cache] and let me know if the problem persists?",
			"Roughly what time did it last happen, and in which time zone? That helps us find it in our logs.",
		},
		provide: []string{
			"{device}, app version {version}. [Recording attached.|Happens every single time.]",
			"Tried that, [still crashing|didn't help|same problem]. [Also happens on my other device.|]",
			"Last time was around {time} [my time|today], {city} time.",
		},
		resolve: []string{
			"Thanks, that helped us reproduce it. Our engineers fixed it in version {version2}, [which is rolling out today|available now in the app store].",
			"I've [logged|filed] this as a bug with our {team} team (reference {ticket}). [I'll update you as soon as there's a fix.|Workaround for now: use the web version.]",
			"We found the cause: [a server-side change on {date}|an expired certificate on one of our servers] broke this. It's fixed now - could you try again?",
		},
		follow: []qa{
			{"Any ETA on the fix?", "[The fix is scheduled for|It's planned for] the next release, expected around {date2}."},
			{"Will I lose anything that didn't sync?", "No - unsynced changes stay on your device and upload once you update."},
		},
		pii: []piiLine{
			{kIPv4, "Our server IP is {ip4} if that matters."},
			{kIPv6, "The error log says: connection refused from {ip6}"},
			{kIPv4, "Request came from {ip4} at {time}."},
			{kEmail, "Logged in as {email}."},
		},
	},
	{
		tag: "privacy", topic: "Privacy & data", team: "privacy",
		subject: []string{
			"Delete my account", "GDPR erasure request", "Please remove my data", "Account deletion request",
			"Close account and delete data", "Right to be forgotten",
		},
		open: []string{
			"[Please|I'd like you to|I am asking you to] delete my account and all [my personal data|data you hold about me|the information you have on me] [under GDPR|in line with GDPR Article 17|as required by law]. [I don't want to receive any more emails.|I haven't used the service since {date}.|]",
			"I want to close my [account|{plan} account] [permanently|for good]. [How do I do that?|There is no delete button in the app.|I've moved to another service.]",
			"[Please|Kindly|Could you] remove all my [information|personal details|data] from your [systems|database|mailing lists] [and confirm in writing|and confirm when it's done|by {date2} at the latest]. [I closed my {plan} plan already.|]",
			"I'd like [a copy of|an export of] [all the data|everything] you hold on me[ (subject access request)|], and then my account [deleted|closed for good]. [Please send it as a [CSV|ZIP|PDF] file.|]",
		},
		ask: []string{
			"We can certainly do that. [To confirm the request comes from the account holder,|For verification,] please reply from the email address registered on the account. [Note that deletion is permanent and your order history will be lost.|]",
			"Before I proceed: deleting the account also cancels your {plan} subscription and removes your order history. Do you want to continue?",
		},
		provide: []string{
			"I'm writing from the registered address. [Go ahead.|Please proceed.]",
			"[Yes, please go ahead.|Confirmed, delete everything.|Yes, I understand.]",
		},
		resolve: []string{
			"Your account deletion request has been [processed|submitted]. All personal data will be [erased|permanently deleted] within {days} days, [except invoices we're legally required to keep|apart from records we must keep for tax purposes].",
			"I've sent you a download link for your data export (valid for {hours} hours). Your account will be deleted on {date2}.",
		},
		fits: [][]int{{0}, {0}, {0}, {1}},
		follow: []qa{
			{"Will you still send me marketing emails?", "No - you've been unsubscribed from all marketing emails [effective immediately|as of today]."},
		},
		pii: []piiLine{
			{kEmail, "The account is registered to {email}."},
			{kPhone, "Also remove my phone number {phone}."},
			{kIPv4, "Your privacy page says you log IPs - mine is {ip4}, delete those logs too."},
		},
	},
	{
		tag: "invoice", topic: "Billing", team: "billing",
		subject: []string{
			"Invoice request", "Need VAT invoice for order {order}", "Invoice with company details",
			"Missing invoice", "Receipt for {date}", "invoice",
		},
		open: []string{
			"Could you [send me|please send] an invoice for order {order}? [I need it for my expense report.|Our accounting team needs it.]",
			"I need a VAT invoice with our company name and address for the payment of {amount} on {date}. [The receipt I got doesn't show our VAT number.|]",
			"Where can I download invoices for my {plan} subscription? [I can only find receipts.|]",
			"Our finance team is asking for invoice {invoice} again, [we seem to have lost it|it never reached them].",
		},
		ask: []string{
			"Of course! [Which company name and billing address should appear on the invoice?|Could you send the company name, address and VAT number you want on the invoice?]",
			"Sure. Should the invoice show the same address as the order, or a different billing address?",
		},
		provide: []string{
			"{ccompany}, [{n} Harbour Street, Leeds|{n} Market St, Suite 300, Austin, TX|Hauptstrasse {n}, Berlin]. VAT [number|no.] {vat}.",
			"Same as the order is fine. [Please add our VAT number {vat}.|]",
		},
		resolve: []string{
			"I've attached invoice {invoice} for {amount}[ with your company details|]. [You can also download all invoices from Settings > Billing.|]",
			"Invoices are under Settings > Billing > History. I've also emailed you {invoice} [directly|as a PDF].",
		},
		fits: [][]int{nil, nil, {1}, nil},
		follow: []qa{
			{"Can you add our PO number to the invoice?", "Sure - I've reissued {invoice} with the PO number included."},
		},
		pii: []piiLine{
			{kEmail, "Please send it to our accounts address {email}."},
			{kIBAN, "Payment was made from {iban}."},
		},
	},
	{
		tag: "payment", topic: "Billing", team: "payments",
		subject: []string{
			"Card declined", "Payment failed", "Can't complete checkout", "Payment error",
			"Payment not going through",
		},
		open: []string{
			"My [card|Visa|Mastercard|debit card] keeps getting declined [at checkout|when I try to pay for order {order}|on the payment page] [even though|but] [there's plenty of money on it|my bank says there's no problem|it works everywhere else]. [I've tried {n} times now.|]",
			"I'm trying to pay for the {plan} plan and get {error}. [Tried two different cards.|]",
			"[Payment failed|The payment failed] three times for order {order}[ and now my card is blocked|]. What's going on?",
		},
		ask: []string{
			"Sorry about that! Could you tell me the time of your last attempt and [which payment method you used|the type of card]? Please don't send the full card number.",
			"Could you check that the billing address you entered matches the one your bank has on file? Mismatches are the most common cause.",
		},
		provide: []string{
			"Last try was at {time}, [Visa|Mastercard|Amex] ending {last4}.",
			"[Address matches.|Just checked, it's the same.|Oh, my old address was still there.]",
		},
		resolve: []string{
			"Our payment provider flagged the attempts as suspicious because of the [different country|new device]. I've whitelisted your account - please try again now.",
			"The decline came from your bank (code [05|51|N7]). They'll need to approve the payment - it's usually a quick call.",
		},
		follow: []qa{
			{"Was I charged for the failed attempts?", "No, failed attempts are never charged; any pending holds disappear within {days} days."},
		},
		pii: []piiLine{
			{kCard, "The card is {card}, exp [09/27|11/26|03/28]."},
			{kCard, "I tried {card} and also my husband's card."},
			{kIPv4, "Maybe it's the VPN? My IP shows as {ip4}."},
		},
	},
	{
		tag: "address", topic: "Orders & delivery", team: "logistics",
		subject: []string{
			"Change delivery address", "Wrong address on order {order}", "Update shipping address",
			"Address change before shipping",
		},
		open: []string{
			"I [just placed|placed] order {order} and [entered the wrong address|need to change the delivery address]. Can you update it before it ships?",
			"I'm moving on {date2} - please send my order to my new address instead.",
			"Typo in my address on order {order}: [the flat number is missing|the postcode is wrong]. Please fix!",
		},
		ask: []string{
			"No problem - what's the new address? [I'll update it as long as the order hasn't left the warehouse.|]",
			"Sure. Could you send the full corrected address, including the postcode?",
		},
		provide: []string{
			"New address: [Flat {n}, 27 Elm Road, Bristol|{n} Oak Ave, Apt 12, Denver, CO|Rue de la Paix {n}, Paris].",
			"It's [Flat {n}|Apartment {n}], same street. Thanks!",
		},
		resolve: []string{
			"Updated! Order {order} will ship to the new address. [Delivery is still expected on {date2}.|]",
			"The order had already been handed to {carrier}, so I've requested a redirect. [You'll get an email when it's confirmed.|]",
		},
		follow: []qa{
			{"Will this delay the delivery?", "It may add a day, but it should still arrive by {date2}."},
		},
		pii: []piiLine{
			{kPhone, "The courier can reach me on {phone}."},
		},
	},
	{
		tag: "promo", topic: "Billing", team: "marketing",
		subject: []string{
			"Promo code not working", "Discount code {promo} invalid", "Coupon issue", "Discount not applied",
		},
		open: []string{
			"The promo code {promo} isn't working at checkout - it says {error}.",
			"I got your email with {promo} for [20%|15%|10%] off but the discount isn't applied to the {product}.",
			"I forgot to use my discount code {promo} on order {order}. [Can you still apply it?|Is it too late?]",
		},
		ask: []string{
			"Thanks for reaching out! Could you tell me which items were in your cart? Some products are excluded from promotions.",
			"Let me check. Was the code applied to an order with other discounts?",
		},
		provide: []string{
			"Just the {product}.",
			"[No other discounts.|I don't think so.]",
		},
		resolve: []string{
			"The code excludes sale items, which is why it wasn't applied. As a one-off, I've refunded the difference of {amount2}.",
			"I've applied {promo} to order {order} and refunded {amount2} to your original payment method.",
		},
		follow: []qa{
			{"Can I use it again on my next order?", "Each code works once per customer, but we send new ones in our newsletter."},
		},
		pii: []piiLine{
			{kEmail, "The email it was sent to is {email}."},
		},
	},
}

// genericFollow are follow-ups that fit any ticket.
var genericFollow = [...]qa{
	{"Is there a phone number I can call?", "[We don't offer phone support at the moment|Phone support is only available on the Business plan], but [replying here is the fastest way to reach us|we answer every email within {hours} hours]."},
	{"Can you confirm that in writing?", "Of course - consider this message your written confirmation."},
	{"Also, how do I change the email address on my account?", "You can change it under Settings > Account > Email; we'll send a confirmation link to the new address."},
	{"Do you offer any compensation for the trouble?", "I've added a [10%|15%] discount code to your account for your next order."},
	{"One more thing - can I add a second user to my account?", "Yes, go to Settings > Team and click Invite. [Extra seats are billed monthly.|]"},
}

// genericPII are PII sentences that fit any ticket.
var genericPII = [...]piiLine{
	{kEmail, "[You can reach me at|Please reply to] {email}[ instead|]."},
	{kPhone, "[My phone number is|Call me on|Best number to reach me:] {phone}."},
	{kEmail, "[I signed up with|My login is] {email}."},
}

// lookalikeLines carry one value that resembles PII but is not.
var lookalikeLines = [...]struct {
	k kind
	t string
}{
	{kReference, "[My|The] [payment reference|transaction ID|bank reference] [is|was] {ref}."},
	{kReference, "Reference number on my statement: {ref}"},
	{kReference, "[Case|Claim] number from my bank: {ref}"},
	{kTracking, "[Tracking|The tracking number] is {tracking} ({carrier})."},
	{kInvoice, "This relates to invoice {invoice}."},
	{kLast4, "[It's|I paid with] the card ending in {last4}."},
	{kVersion, "I'm on app version {version}."},
	{kOrder, "[My order number is|Order ref] {order}."},
	{kPrice, "The total was {amount}, paid on {date} at {time}."},
}

var (
	custGreetingEmail = [...]string{
		"Hi,", "Hello,", "Hi there,", "Hello {company} team,", "Dear Sir or Madam,", "Dear {company} Support,",
		"Good morning,", "Good afternoon,", "Hey,", "Hi team,", "To whom it may concern,", "Hello support,",
	}
	custGreetingReply = [...]string{
		"Hi {agent},", "Hello {agent},", "Thanks {agent},", "Hi again,", "Hi,", "Dear {agent},",
	}
	custGreetingChat = [...]string{"hi", "hello", "hey", "Hi there", "good morning", "Hi!", "hello?"}
	// custPreamble and custPostscript wrap an opening message now and then,
	// as people add context and urgency to a first message.
	custPreamble = [...]string{
		"I hope you're well.", "Sorry to bother you again.", "Long-time customer here.",
		"I tried the help center first but couldn't find an answer.", "This is my second message about this.",
		"I'm writing on behalf of my [mother|husband|wife|father|team].", "I need some help with my account.",
		"I've been a customer for {n} years and this has never happened before.", "Not sure if this is the right place to ask.",
		"Hope someone can help me.", "I have a problem with [an order|my account|a payment].",
		"My name is {name}[ and I'm a {plan} customer|].", "First time contacting support.",
	}
	custPostscript = [...]string{
		"It's quite urgent.", "I need this sorted by [Friday|the end of the week|{date2}].", "Please advise.",
		"This is really frustrating.", "I'd appreciate a quick reply.", "Let me know if you need anything else from me.",
		"I've attached a screenshot.", "Happy to jump on a call if that's easier.", "I'm travelling next week, so email is best.",
		"Honestly I'm about to give up on {company}.", "Thanks for looking into it.",
	}
	custCloser = [...]string{
		"Thanks in advance.", "Thank you.", "Thanks!", "Appreciate your help.", "Looking forward to hearing from you.",
		"Please get back to me asap.", "Thanks for your help.", "Hope you can help.", "Thanks,", "Many thanks.",
	}
	custThanks = [...]string{
		"Thank you, that worked!", "Great, thanks for the quick help.", "ok thanks", "Perfect, appreciate it.",
		"Thanks {agent}, all sorted now.", "Got it, thank you.", "That's fine, thanks.",
		"Thanks. Not thrilled about the wait, but ok.", "Brilliant, cheers!", "Received, thank you very much.",
		"Ok. thanks", "Thank you so much for your help!", "Confirmed, it works now.",
		"No, that's all. Thanks.", "That's everything, thank you!",
	}
	custChase = [...]string{
		"Hi, any update on this?", "It's been {days} days and I still haven't heard back.",
		"Just following up on my previous email - still waiting.", "Hello?? Is anyone there?", "Any news?",
		"Following up again. This is urgent.", "Could someone please reply?",
	}
	custChaseChat  = [...]string{"hello?", "anyone there?", "??", "hi, still waiting", "Hello", "are you still there?", "it's been ages"}
	custChasePhone = [...]string{"Hello? Are you still there?", "Did I lose you?", "Sorry, is anyone there?", "I've been on hold for a while now."}
	custDoubleText = [...]string{"hello?", "anyone there?", "??", "hi, still waiting", "Hello"}

	agentGreetingEmail = [...]string{
		"Hi {first},", "Hello {first},", "Dear {first},", "Hi {first}, thanks for getting in touch!",
		"Hello {first}, thank you for contacting {company} Support.", "Hi there,", "Dear {name},",
	}
	agentAck = [...]string{
		"Thanks for reaching out, and sorry for the trouble.", "I'm sorry to hear about this.",
		"Thank you for contacting us.", "Thanks for your message.", "I understand how frustrating this must be.",
		"Apologies for the inconvenience.", "Thanks for getting in touch.", "",
	}
	agentCloser = [...]string{
		"Let me know if there's anything else I can help with.", "Please don't hesitate to reach out if you have any other questions.",
		"Have a great day!", "Hope this helps!", "If you need anything else, just reply to this email.",
		"Is there anything else I can help you with?", "",
	}
	agentChatIntro = [...]string{
		"Hi {first}! My name is {agent} and I'll be helping you today.", "Hello {first}, thanks for contacting {company}. I'm {agent}.",
		"Hi {first}, {agent} here.", "Hey {first}! Thanks for waiting.", "Hi, I'm {agent}.",
	}
	agentPhoneIntro = [...]string{
		"Thank you for calling {company}, my name is {agent}.", "{company} support, this is {agent} speaking.",
		"Hi, thanks for holding, this is {agent}.", "Thanks for calling, you're through to {agent}.",
	}
	agentClose = [...]string{
		"You're welcome, {first}! I'll mark this ticket as solved[, but feel free to reply if anything else comes up|].",
		"Glad I could help! Have a great [day|weekend|evening].", "Happy to help. Take care!",
		"Great to hear! I'll close this ticket now.", "Anytime, {first}. Have a good one!",
	}
	agentProgress = [...]string{
		"[I've passed this to|I've escalated this to] our {team} team and will update you as soon as I hear back.",
		"Sorry for the wait - the {team} team is still looking into it. [I'll get back to you by {date2}.|]",
		"Quick update: I'm still waiting on the {team} team. Thanks for bearing with us.",
	}
	systemAutoReply = [...]string{
		"This is an automated message. We've received your request ({ticket}) and will get back to you within {hours} hours. Please do not reply to this email.",
		"Thank you for contacting {company} Support. Your ticket number is {ticket}. [Our average response time is {hours} hours.|An agent will respond shortly.]",
		"We got your message! Reference: {ticket}. In the meantime, our Help Center may have the answer.",
	}
	systemChat = [...]string{
		"{agent} joined the chat", "Chat transferred to the {team} team", "Visitor is waiting for an agent",
		"{agent} has been assigned to this conversation",
	}
	systemPhone = [...]string{
		"Call recording started.", "Call transferred to {team}.", "Caller verified via security questions.",
	}
	phoneFillers = [...]string{"Um, ", "Uh, ", "Yeah, so ", "Okay, um, ", "So, ", "Right, ", "Yeah, "}
)

// Signatures. A customer's style is fixed for a conversation, as a mail
// client's is.
var (
	custSignOffs = [...]string{
		"Thanks,\n{first}", "Best regards,\n{name}", "Cheers,\n{first}", "Kind regards,\n{name}",
		"Regards,\n{name}", "Thank you,\n{name}", "Best,\n{first}", "Many thanks,\n{first}",
	}
	mobileFooters = [...]string{
		"Sent from my iPhone", "Sent from my iPhone", "Sent from my iPad", "Sent from my Samsung Galaxy smartphone.",
		"Get Outlook for iOS", "Get Outlook for Android", "Sent from Mail for Windows", "Sent from Yahoo Mail on Android",
	}
	custFullSigs = [...]string{
		"-- \n{name}\n{ccompany}\n{phone}",
		"{name}\n{title} | {ccompany}\nM: {phone}\nE: {email}",
		"Best regards,\n\n{name}\n{title}\n{ccompany}\nTel: {phone}",
		"-- \n{name} | {title}\n{ccompany}",
		"Thanks,\n{name}\n{title}, {ccompany}\n{phone} | {email}",
	}
	agentSigs = [...]string{
		"{agent}\n{company} Customer Support",
		"Best,\n{agent} | {company} Support\n{support_email}",
		"Kind regards,\n\n{agent} {agent_initial}.\nCustomer Care Team\n{company}\n{support_phone} | www.{domain}",
		"--\n{agent}\n{company} Help Center: https://help.{domain}",
		"Warm regards,\n{agent}\n{company} Support Team\nNeed more help? Reply to this email or call {support_phone}.",
		"Thanks,\n{agent}\n{company} | Ticket {ticket}",
	}
	disclaimers = [...]string{
		"This email and any attachments are confidential and intended solely for the use of the individual or entity to whom they are addressed. If you have received this email in error, please notify the sender and delete it.",
		"CONFIDENTIALITY NOTICE: The information in this message is confidential and may be legally privileged. It is intended solely for the addressee. Access to this message by anyone else is unauthorised.",
		"Please consider the environment before printing this email.",
		"DISCLAIMER: This e-mail and any files transmitted with it are confidential and intended solely for the use of the individual or entity to whom they are addressed. Any views or opinions presented are solely those of the author.",
	}
)

// Slot fillers.
var (
	products = [...]string{
		"wireless headphones", "standing desk", "espresso machine", "air purifier", "ergonomic chair", "4K monitor",
		"smart thermostat", "running shoes", "hiking backpack", "blender", "robot vacuum", "desk lamp", "yoga mat",
		"water bottle (2-pack)", "mechanical keyboard", "baby monitor", "winter jacket", "cast iron pan",
		"bluetooth speaker", "office chair", "webcam", "electric kettle", "phone case", "duvet set",
	}
	plans    = [...]string{"Basic", "Plus", "Pro", "Team", "Business", "Family", "Starter", "Premium"}
	carriers = [...]string{"UPS", "USPS", "FedEx", "DHL", "Royal Mail", "DPD"}
	devices  = [...]string{
		"iPhone 13", "iPhone 15 Pro", "Pixel 8", "Samsung Galaxy S23", "iPad Air", "Windows 11 laptop",
		"MacBook Air", "OnePlus 11", "Galaxy Tab S8", "Chromebook",
	}
	browsers   = [...]string{"Chrome", "Firefox", "Safari", "Edge", "Chrome on Android", "Brave"}
	errorTexts = [...]string{
		"\"Something went wrong. Please try again later.\"", "Error 500", "ERR_TOO_MANY_REDIRECTS",
		"\"Invalid verification code\"", "\"Session expired\"", "error E-4012", "\"Invalid credentials\"",
		"\"Code not valid\"", "a blank white screen", "\"Unable to process request (code 403)\"",
		"\"Network error\"", "\"This promotion has expired\"",
	}
	promos        = [...]string{"SPRING20", "WELCOME10", "FREESHIP", "VIP15", "SUMMER25", "THANKYOU"}
	agentNames    = [...]string{"Sam", "Priya", "Omar", "Lena", "Marcus", "Aisha", "Tom", "Grace", "Diego", "Hannah", "Ravi", "Mia", "Jonas", "Chloe", "Kwame", "Ines"}
	custTitles    = [...]string{"Office Manager", "Operations Lead", "Senior Buyer", "Head of Finance", "IT Administrator", "Founder", "Accounts Payable", "Project Manager"}
	custCompanies = [...]string{
		"Acme Corp", "Blue Harbor Ltd", "Kestrel Analytics GmbH", "Pinecrest Dental", "Orbit Logistics LLC",
		"Meridian Legal LLP", "Tallow & Finch", "Halcyon Studio", "Brightwater School District", "Juniper Health",
	}
	citiesASCII   = [...]string{"Austin", "Leeds", "Denver", "Toronto", "Berlin", "Sydney", "Dublin", "Chicago", "Lyon", "Pune"}
	citiesUnicode = [...]string{"München", "Zürich", "São Paulo", "Montréal", "Kraków", "Málaga", "Tōkyō", "Reykjavík"}
	mailDomains   = [...]string{
		"gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "hotmail.co.uk", "icloud.com",
		"proton.me", "gmx.de", "example.com", "example.org", "mail.example.net", "aol.com",
	}
)

// person is a customer name: how it is written and how it appears in an
// email address. full overrides "first last" where the family name comes
// first; the ASCII forms are empty when first and last are already ASCII.
type person struct{ first, last, full, firstASCII, lastASCII string }

var namesASCII = [...]person{
	{"Jane", "Doe", "", "", ""}, {"John", "Miller", "", "", ""}, {"Emily", "Johnson", "", "", ""}, {"Michael", "Brown", "", "", ""},
	{"Sarah", "Davis", "", "", ""}, {"David", "Wilson", "", "", ""}, {"Laura", "Martinez", "", "", ""}, {"Chris", "Anderson", "", "", ""},
	{"Olivia", "Taylor", "", "", ""}, {"James", "Thomas", "", "", ""}, {"Sophie", "Moore", "", "", ""}, {"Daniel", "Jackson", "", "", ""},
	{"Megan", "White", "", "", ""}, {"Ryan", "Harris", "", "", ""}, {"Aaliyah", "Clark", "", "", ""}, {"Kevin", "Lewis", "", "", ""},
	{"Fatima", "Khan", "", "", ""}, {"Wei", "Zhang", "", "", ""}, {"Arjun", "Patel", "", "", ""}, {"Grace", "Okafor", "", "", ""},
	{"Lucas", "Rossi", "", "", ""}, {"Anna", "Schmidt", "", "", ""}, {"Tom", "O'Neill", "", "", ""}, {"Hannah", "Cohen", "", "", ""},
	{"Mohammed", "Ali", "", "", ""}, {"Rachel", "Kim", "", "", ""}, {"Peter", "Novak", "", "", ""}, {"Nina", "Larsen", "", "", ""},
	{"Carlos", "Mendes", "", "", ""}, {"Amy", "Nguyen", "", "", ""}, {"Ben", "Walker", "", "", ""}, {"Zoe", "Campbell", "", "", ""},
}

var namesUnicode = [...]person{
	{"José", "García", "", "jose", "garcia"}, {"Zoë", "Müller", "", "zoe", "mueller"}, {"François", "Lefèvre", "", "francois", "lefevre"},
	{"Łukasz", "Nowak", "", "lukasz", "nowak"}, {"Søren", "Kjær", "", "soren", "kjaer"}, {"Chloé", "Dubois", "", "chloe", "dubois"},
	{"Björn", "Andersson", "", "bjorn", "andersson"}, {"İlayda", "Yılmaz", "", "ilayda", "yilmaz"}, {"Siobhán", "Ní Bhriain", "", "siobhan", "nibhriain"},
	{"An", "Nguyễn", "Nguyễn Văn An", "an", "nguyen"}, {"優子", "田中", "田中優子", "yuko", "tanaka"}, {"Renée", "Côté", "", "renee", "cote"},
	{"Jürgen", "Weiß", "", "juergen", "weiss"}, {"Inês", "Conceição", "", "ines", "conceicao"}, {"Øyvind", "Hågensen", "", "oyvind", "hagensen"},
	{"明", "王", "王明", "ming", "wang"},
}

// unicodeTails are appended to a message to give it non-ASCII text.
var unicodeTails = [...]string{
	" 🙏", " 😩", " 🙂", " 👍", " 😡", " ❤️", " 🤞", " ありがとうございます。", " 谢谢!", " 감사합니다.",
	" Merci d’avance !", " Vielen Dank – wirklich.", " ¡Gracias!",
}
