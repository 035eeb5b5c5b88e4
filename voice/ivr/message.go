package ivr

import (
	"fmt"
	"strings"
)

// kindNames name each kind of node for the owner: [English, Russian].
var kindNames = map[Kind][2]string{
	KindPlay:      {"message", "Сообщение"},
	KindMenu:      {"menu", "Меню"},
	KindSchedule:  {"schedule", "Расписание"},
	KindRing:      {"call to operators", "Вызов операторов"},
	KindQueue:     {"queue", "Очередь"},
	KindVoicemail: {"voicemail", "Голосовая почта"},
	KindCallback:  {"callback request", "Заказ обратного звонка"},
	KindSurvey:    {"survey", "Опрос"},
	KindForward:   {"forwarding", "Переадресация"},
	KindLanguage:  {"language choice", "Выбор языка"},
	KindSMS:       {"SMS reply", "SMS-ответ"},
	KindHangup:    {"hang-up", "Завершение звонка"},
}

// fieldNames word the ways on and other fields: [English, Russian].
var fieldNames = map[string][2]string{
	"next":        {"what comes next", "что дальше"},
	"no_input":    {"what happens when the caller presses nothing", "что будет, если ничего не нажать"},
	"open":        {"what happens in working hours", "что будет в рабочее время"},
	"closed":      {"what happens after hours", "что будет в нерабочее время"},
	"holiday":     {"what happens on holidays", "что будет в праздники"},
	"no_answer":   {"what happens when nobody answers", "что будет, если никто не ответит"},
	"leave":       {"what happens when the caller leaves the queue", "что будет, если звонящий выйдет из очереди"},
	"prompt":      {"recording", "запись"},
	"invalid":     {"recording for a wrong key", "запись для неверной клавиши"},
	"music":       {"hold music", "музыка ожидания"},
	"record":      {"recording notice", "предупреждение о записи"},
	"timeout_sec": {"time to wait for a key", "время ожидания нажатия"},
	"retries":     {"number of tries", "число попыток"},
	"ring_sec":    {"ringing time", "время вызова"},
	"max_wait_sec": {"longest wait in the queue",
		"наибольшее время ожидания в очереди"},
	"announce_sec":   {"time between announcements", "время между объявлениями"},
	"max_length_sec": {"longest message", "наибольшая длина сообщения"},
	"strategy":       {"order of ringing", "порядок вызова"},
	"languages":      {"language", "язык"},
}

var weekdayNames = map[string][2]string{
	"mon": {"on Monday", "в понедельник"}, "tue": {"on Tuesday", "во вторник"}, "wed": {"on Wednesday", "в среду"},
	"thu": {"on Thursday", "в четверг"}, "fri": {"on Friday", "в пятницу"}, "sat": {"on Saturday", "в субботу"},
	"sun": {"on Sunday", "в воскресенье"},
}

// Message words the problem for the owner in lang ("ru" or "en"; anything else is English),
// for example `The "Sales" menu: key 3 leads to "pricing", which does not exist.`
func (p Problem) Message(lang string) string {
	ru := lang == "ru"
	pick := func(en, r string) string {
		if ru {
			return r
		}
		return en
	}
	pair := func(m map[string][2]string, key string) string {
		v, ok := m[key]
		if !ok {
			return key
		}
		return pick(v[0], v[1])
	}
	arg := func(i int) string {
		if i < len(p.Args) {
			return p.Args[i]
		}
		return ""
	}
	q := func(s string) string { return pick(`"`+s+`"`, "«"+s+"»") }
	key := func(k string) string {
		switch k {
		case "*":
			return pick("the star key", "клавиша «звёздочка»")
		case "#":
			return pick("the hash key", "клавиша «решётка»")
		}
		return pick("key "+k, "клавиша "+k)
	}
	field := pair(fieldNames, p.Field)

	var text string
	switch p.Code {
	case CodeNoStart:
		text = pick("The flow has no first step.", "У схемы нет первого шага.")
	case CodeUnknownStart:
		text = pick(fmt.Sprintf("The flow starts at %s, but there is no such step.", q(arg(0))),
			fmt.Sprintf("Схема начинается с шага %s, но такого шага нет.", q(arg(0))))
	case CodeEmptyID:
		text = pick(fmt.Sprintf("Step number %s has no identifier.", arg(0)),
			fmt.Sprintf("У шага номер %s нет идентификатора.", arg(0)))
	case CodeDuplicateID:
		text = pick(fmt.Sprintf("another step already has the identifier %s.", q(arg(0))),
			fmt.Sprintf("у другого шага уже есть идентификатор %s.", q(arg(0))))
	case CodeUnknownKind:
		text = pick(fmt.Sprintf("%s is not a kind of step this box knows.", q(arg(0))),
			fmt.Sprintf("%s — такого вида шага нет.", q(arg(0))))
	case CodeMissingNode:
		if p.Field == "choices" || p.Field == "languages" {
			text = pick(fmt.Sprintf("%s leads to %s, which does not exist.", key(arg(0)), q(arg(1))),
				fmt.Sprintf("%s ведёт к шагу %s, которого нет.", key(arg(0)), q(arg(1))))
		} else {
			text = pick(fmt.Sprintf("%s leads to %s, which does not exist.", field, q(arg(0))),
				fmt.Sprintf("«%s» ведёт к шагу %s, которого нет.", field, q(arg(0))))
		}
	case CodeDeadEnd:
		text = pick(fmt.Sprintf("nothing says %s: the caller would be stuck here.", field),
			fmt.Sprintf("не указано, %s: звонящий застрянет здесь.", field))
	case CodeUnreachable:
		text = pick("no caller can ever get here.", "сюда не попадёт ни один звонящий.")
	case CodeLoop:
		circle := strings.Join(p.Args, " → ")
		text = pick(fmt.Sprintf("the call can go round in a circle (%s) without the caller pressing a key or anyone answering.", circle),
			fmt.Sprintf("звонок может ходить по кругу (%s), хотя звонящий ничего не нажимает и никто не отвечает.", circle))
	case CodeMissingPrompt:
		if arg(0) == "" {
			text = pick("there is no recording to play.", "не выбрана запись.")
		} else {
			text = pick(fmt.Sprintf("the %s %s does not exist.", field, q(arg(0))),
				fmt.Sprintf("нет записи %s.", q(arg(0))))
			if ru && p.Field != "prompt" {
				text = fmt.Sprintf("нет записи %s (%s).", q(arg(0)), field)
			}
		}
	case CodeBadSchedule:
		text = scheduleMessage(p, ru, q)
	case CodeUnknownOperator:
		text = pick(fmt.Sprintf("there is no operator called %s.", q(arg(0))),
			fmt.Sprintf("нет оператора %s.", q(arg(0))))
	case CodeBadKey:
		text = pick(fmt.Sprintf("%s is not a key on a phone (use 0-9, * or #).", q(arg(0))),
			fmt.Sprintf("%s — такой клавиши на телефоне нет (можно 0–9, * или #).", q(arg(0))))
	case CodeEmptyMenu:
		text = pick("the menu has no choices.", "в меню нет ни одного варианта.")
	case CodeBadValue:
		text = pick(fmt.Sprintf("%s cannot be %s.", field, q(arg(0))),
			fmt.Sprintf("%s не может быть %s.", field, q(arg(0))))
	case CodeNoNumber:
		text = pick("there is no phone number to forward to.", "не указан номер для переадресации.")
	case CodeNoText:
		text = pick("the SMS has no text.", "у SMS нет текста.")
	case CodeNoLanguages:
		text = pick("there are no languages to choose from.", "нет языков для выбора.")
	case CodeDeepMenu:
		text = pick(fmt.Sprintf("callers go through %s menus to get here; more than two is hard to follow.", arg(0)),
			fmt.Sprintf("чтобы попасть сюда, нужно пройти %s меню; больше двух — трудно для звонящих.", arg(0)))
	case CodeNoPerson:
		text = pick("Callers can never reach a person.", "Звонящие никогда не смогут поговорить с человеком.")
	case CodeCallerLost:
		text = pick("when nobody answers, the caller cannot leave a message or ask for a callback, and the call may be lost.",
			"если никто не ответит, звонящий не сможет оставить сообщение или заказать обратный звонок, и звонок может потеряться.")
	default:
		text = string(p.Code)
	}
	if p.Node == "" && p.Title == "" {
		return capitalize(text)
	}
	title := p.Title
	if title == "" {
		title = p.Node
	}
	noun, ok := kindNames[p.Kind]
	if !ok {
		noun = [2]string{"step", "Шаг"}
	}
	if ru {
		return fmt.Sprintf("%s «%s»: %s", noun[1], title, text)
	}
	return fmt.Sprintf("The %q %s: %s", title, noun[0], text)
}

func scheduleMessage(p Problem, ru bool, q func(string) string) string {
	pick := func(en, r string) string {
		if ru {
			return r
		}
		return en
	}
	v := ""
	if len(p.Args) > 0 {
		v = p.Args[0]
	}
	switch {
	case p.Field == "schedule":
		return pick("no working hours are set.", "не заданы часы работы.")
	case p.Field == "tz" && v == "":
		return pick("no time zone is set.", "не задан часовой пояс.")
	case p.Field == "tz":
		return pick(fmt.Sprintf("the time zone %s is unknown.", q(v)), fmt.Sprintf("неизвестный часовой пояс %s.", q(v)))
	case p.Field == "week":
		return pick(fmt.Sprintf("%s is not a day of the week.", q(v)), fmt.Sprintf("%s — это не день недели.", q(v)))
	case strings.HasPrefix(p.Field, "week."):
		day := weekdayNames[strings.TrimPrefix(p.Field, "week.")]
		return pick(fmt.Sprintf("the hours %s %s are not like 09:00-18:00.", q(v), day[0]),
			fmt.Sprintf("часы %s %s записаны не так, как 09:00-18:00.", q(v), day[1]))
	case p.Field == "holidays":
		return pick(fmt.Sprintf("the holiday %s is not a date like 01-07 (every year) or 2027-01-07 (once).", q(v)),
			fmt.Sprintf("праздник %s записан не как дата 01-07 (каждый год) или 2027-01-07 (один раз).", q(v)))
	case p.Field == "exceptions":
		return pick(fmt.Sprintf("the special day %s is not a date like 2027-01-07.", q(v)),
			fmt.Sprintf("особый день %s записан не как дата 2027-01-07.", q(v)))
	case p.Field == "exceptions.hours":
		return pick(fmt.Sprintf("the hours %s of a special day are not like 09:00-18:00.", q(v)),
			fmt.Sprintf("часы %s особого дня записаны не так, как 09:00-18:00.", q(v)))
	}
	return pick("the working hours are wrong.", "часы работы заданы неверно.")
}

func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
